package main

import (
	"strconv"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
)

// durabilityFlags say when a Redis write is acknowledged and what Redis
// settings the origin accepts (docs/redis.md, "Durability").
type durabilityFlags struct {
	wait, waitTimeout, unsafe string
}

func (d *durabilityFlags) register(fsVar func(p *string, name, value, usage string)) {
	fsVar(&d.wait, "redis-wait", "auto", "replicas that must hold a stock or reservation write before it is acknowledged (WAIT N): auto (1 when the masters have replicas), 0 (never wait: a failover may lose acknowledged writes) or N")
	fsVar(&d.waitTimeout, "redis-wait-timeout", redisstore.DefaultWaitTimeout.String(), "how long a write waits for its replicas; after it the answer is 503 outcome_unknown (retry with the same Idempotency-Key)")
	fsVar(&d.unsafe, "redis-unsafe-config", redisstore.UnsafeRefuse, "Redis settings that cannot keep acknowledged writes (appendonly, appendfsync, maxmemory-policy, or CONFIG forbidden): refuse to start, or warn")
}

// check validates the flags before anything starts; a bad value is a
// usage error (exit 2).
func (d *durabilityFlags) check(cmd string) error {
	cfg := redisstore.DefaultConfig(nil)
	return d.set(cmd, &cfg)
}

// apply sets the flags on cfg.
func (d *durabilityFlags) apply(cfg *redisstore.Config) error { return d.set("origin", cfg) }

func (d *durabilityFlags) set(cmd string, cfg *redisstore.Config) error {
	switch d.wait {
	case "", "auto":
	case "0":
		cfg.WaitDisabled = true
	default:
		n, err := strconv.Atoi(d.wait)
		if err != nil || n < 1 || n > 16 {
			return usageErr(cmd, "invalid --redis-wait %q (want auto, 0 or 1-16)", d.wait)
		}
		cfg.WaitReplicas = n
	}
	t, err := time.ParseDuration(d.waitTimeout)
	if err != nil || t < time.Millisecond || t >= cfg.ReadTimeout {
		return usageErr(cmd, "invalid --redis-wait-timeout %q (want 1ms to below %v)", d.waitTimeout, cfg.ReadTimeout)
	}
	cfg.WaitTimeout = t
	if d.unsafe != redisstore.UnsafeRefuse && d.unsafe != redisstore.UnsafeWarn {
		return usageErr(cmd, "invalid --redis-unsafe-config %q (want refuse or warn)", d.unsafe)
	}
	cfg.UnsafeConfig = d.unsafe
	return nil
}
