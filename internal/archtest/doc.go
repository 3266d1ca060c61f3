// Package archtest holds the test that keeps imports pointing the way data
// flows: client -> edge -> origin -> storage, origin -> gossip -> edge. Only
// cmd/shortstock, topology and bench wire packages together.
package archtest
