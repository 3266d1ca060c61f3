package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerOptions configures one redis-server.
type ServerOptions struct {
	// AppendFsync is the AOF fsync policy: "always", "everysec" or "no".
	// Default "always", so a test that SIGKILLs the server can demand that
	// every acknowledged write survives.
	AppendFsync string
	// Extra are more config directives, each "name value" (e.g.
	// "maxmemory 100mb").
	Extra []string
	// ReadyTimeout bounds the wait for the server to answer PING (including
	// loading its AOF). Default 10s.
	ReadyTimeout time.Duration

	// clusterPort, when set, starts the server as a cluster node whose bus
	// listens there (cluster-port, so the bus needs no port+10000 rule).
	clusterPort int
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.AppendFsync == "" {
		o.AppendFsync = "always"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	return o
}

// Server is one redis-server process that this package started. Its
// directory (AOF, logs, cluster state) outlives Kill so Restart can bring
// the same data back; Stop removes it.
type Server struct {
	// Addr is "127.0.0.1:<port>".
	Addr string
	// Port is the client port.
	Port int
	// Dir is the working directory: AOF files, nodes.conf, redis.log.
	Dir string

	bin  string
	opts ServerOptions

	mu   sync.Mutex
	proc *exec.Cmd
	done chan struct{} // closed when proc has exited
}

// startAttempts bounds retries when a chosen port was taken between
// finding it free and redis binding it.
const startAttempts = 3

// StartServer starts a standalone redis-server on a free loopback port in a
// new temporary directory and waits until it answers PING.
func StartServer(opts ServerOptions) (*Server, error) {
	b, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	return startServer(b.Server, opts)
}

func startServer(bin string, opts ServerOptions) (*Server, error) {
	opts = opts.withDefaults()
	var lastErr error
	for range startAttempts {
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		s, err := startOnPort(bin, ports[0], opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnPort(bin string, port int, opts ServerOptions) (*Server, error) {
	dir, err := os.MkdirTemp("", "shortstock-redis-"+strconv.Itoa(port)+"-")
	if err != nil {
		return nil, fmt.Errorf("redistest: temp dir: %w", err)
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port: port,
		Dir:  dir,
		bin:  bin,
		opts: opts,
	}
	if err := s.launch(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) args() []string {
	a := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--logfile", filepath.Join(s.Dir, "redis.log"),
		"--daemonize", "no",
		"--appendonly", "yes",
		"--appendfsync", s.opts.AppendFsync,
		"--save", "",
	}
	if s.opts.clusterPort != 0 {
		a = append(a,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.Dir, "nodes.conf"),
			"--cluster-port", strconv.Itoa(s.opts.clusterPort),
			// Short so failover tests finish quickly; loopback never lags.
			"--cluster-node-timeout", "2000",
			// Replicas sync at once instead of after the default 5 s
			// wait for more replicas to share one diskless transfer.
			"--repl-diskless-sync-delay", "0",
		)
	}
	for _, e := range s.opts.Extra {
		name, value, _ := strings.Cut(strings.TrimSpace(e), " ")
		a = append(a, "--"+name, strings.TrimSpace(value))
	}
	return a
}

// launch starts the process and waits for PING; the caller holds no lock.
func (s *Server) launch() error {
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Dir = s.Dir
	// Kill redis with the test binary: a crashed or interrupted test run
	// must not leave servers behind on the machine.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: starting %s: %v", ErrUnavailable, s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.proc, s.done = cmd, done
	s.mu.Unlock()
	if err := s.waitReady(done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%w: redis-server on port %d: %v%s", ErrUnavailable, s.Port, err, s.logTail())
	}
	return nil
}

// waitReady polls PING until the server answers PONG (not LOADING).
func (s *Server) waitReady(done <-chan struct{}) error {
	deadline := time.Now().Add(s.opts.ReadyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return errors.New("exited during start-up")
		default:
		}
		reply, err := Do(s.Addr, 500*time.Millisecond, "PING")
		if err == nil && reply == "PONG" {
			return nil
		}
		lastErr = err
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v: %v", s.opts.ReadyTimeout, lastErr)
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n--- redis.log (tail) ---\n" + string(b)
}

// Running reports whether the process is alive (paused counts as alive).
func (s *Server) Running() bool {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// signal sends sig to the process if it runs.
func (s *Server) signal(sig os.Signal) error {
	s.mu.Lock()
	proc, done := s.proc, s.done
	s.mu.Unlock()
	if proc == nil {
		return errors.New("redistest: server not running")
	}
	select {
	case <-done:
		return errors.New("redistest: server not running")
	default:
	}
	return proc.Process.Signal(sig)
}

// Kill ends the server with SIGKILL, like a crash, and waits for it to be
// gone. The directory stays, so Restart recovers from the AOF.
func (s *Server) Kill() error {
	s.mu.Lock()
	proc, done := s.proc, s.done
	s.mu.Unlock()
	if proc == nil {
		return nil
	}
	_ = proc.Process.Signal(syscall.SIGCONT) // a paused process must still die
	_ = proc.Process.Kill()
	<-done
	return nil
}

// Pause stops the process with SIGSTOP: connections stay open and hang,
// which is what a stuck or partitioned server looks like to clients.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT) }

// Restart starts the server again on the same port and directory (killing
// it first if it still runs) and waits until it has loaded its AOF.
func (s *Server) Restart() error {
	if err := s.Kill(); err != nil {
		return err
	}
	return s.launch()
}

// Stop kills the server and removes its directory. It is idempotent.
func (s *Server) Stop() error {
	if err := s.Kill(); err != nil {
		return err
	}
	return os.RemoveAll(s.Dir)
}
