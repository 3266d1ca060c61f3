// Package redistest runs real Redis servers for tests: a standalone
// redis-server and a 3-master Redis Cluster with one replica per master, on
// free loopback ports, in temporary directories, with AOF persistence.
//
// A package that needs Redis starts them once in TestMain (see Start) and
// hands the addresses to its tests. Tests then call Env.Standalone or
// Env.Cluster, which skip with a clear message when Redis is not available,
// or fail the test when the environment variable CI is "true": a CI run
// that silently skips its Redis tests would prove nothing.
//
// SHORTSTOCK_TEST_REDIS (one address) and SHORTSTOCK_TEST_REDIS_CLUSTER
// (comma-separated seed addresses) point tests at servers that are already
// running instead; tests that need to kill or restart a server skip then,
// since they cannot control an outside process.
//
// The binaries come from PATH (redis-server, redis-cli); the repository's
// test script installs them when missing.
package redistest
