package redistest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// StartPrimaryReplica starts a standalone server and a replica of it, and
// waits until the replica finished its first sync.
func StartPrimaryReplica(opts ServerOptions) (primary, replica *Server, err error) {
	po := opts
	// The replica syncs at once instead of after the default 5 s wait for
	// more replicas to share one diskless transfer.
	po.Extra = append(append([]string(nil), opts.Extra...), "repl-diskless-sync-delay 0")
	primary, err = StartServer(po)
	if err != nil {
		return nil, nil, err
	}
	ro := opts
	ro.Extra = append(append([]string(nil), opts.Extra...), "replicaof 127.0.0.1 "+strconv.Itoa(primary.Port))
	replica, err = StartServer(ro)
	if err != nil {
		_ = primary.Stop()
		return nil, nil, err
	}
	if err := WaitReplicaUp(replica, opts.withDefaults().ReadyTimeout); err != nil {
		_ = primary.Stop()
		_ = replica.Stop()
		return nil, nil, err
	}
	return primary, replica, nil
}

// Promote makes a replica a master (REPLICAOF NO ONE), as a failover
// manager does.
func Promote(s *Server) error {
	out, err := Do(s.Addr, 2*time.Second, "REPLICAOF", "NO", "ONE")
	if err == nil && out != "OK" {
		err = errors.New("redistest: REPLICAOF NO ONE: " + out)
	}
	return err
}

// WaitReplicaUp waits until s reports master_link_status:up.
func WaitReplicaUp(s *Server, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := Do(s.Addr, time.Second, "INFO", "replication")
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: replica %s not in sync after %v (%v)", ErrUnavailable, s.Addr, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
