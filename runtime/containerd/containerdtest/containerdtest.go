// Package containerdtest starts a containerd daemon of its own for tests:
// private root, state dir, socket and config under a fresh directory in
// /tmp (kept short: unix socket paths are limited to 108 bytes), so tests
// neither need nor disturb the host's containerd.
//
// A test binary usually shares one daemon: call Main from TestMain and
// Shared from each test. Where containerd cannot run (not root, or the
// containerd and runc binaries are missing) tests skip with the reason,
// unless the environment variable BATON_REQUIRE_CONTAINERD is "1", as CI
// sets it, and then they fail.
package containerdtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"golang.org/x/sys/unix"
)

// RequireEnv names the environment variable that, set to "1", turns a skip
// for want of containerd into a failure.
const RequireEnv = "BATON_REQUIRE_CONTAINERD"

// Binaries the daemon needs on PATH.
var binaries = []string{"containerd", "containerd-shim-runc-v2", "runc"}

// Unavailable returns why containerd cannot run here, or "" if it can.
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "containerd tests need root (they mount filesystems and network namespaces)"
	}
	var missing []string
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return "containerd tests need " + strings.Join(missing, ", ") + " on PATH (Debian: apt-get install containerd runc)"
	}
	return ""
}

// Required reports whether RequireEnv is set to "1".
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Env is a containerd daemon private to a test process. Its methods are
// safe for concurrent use.
type Env struct {
	// Dir holds everything: the daemon's root and state, its config and
	// log, and StateDir.
	Dir string
	// Address is the daemon's socket.
	Address string
	// StateDir is a directory for the state of Baton's Runtime.
	StateDir string
	// Bridge and Subnet name a CNI bridge network for this Env alone.
	Bridge string
	Subnet string
	// CgroupParent is a cgroup for this Env's containers, removed by
	// Stop.
	CgroupParent string

	mu  sync.Mutex // guards cmd and done
	cmd *exec.Cmd
	// done is closed when cmd has been waited for.
	done chan struct{}
	// spawn runs functions on the spawner goroutine; see spawner.
	spawn     chan func()
	spawnDone chan struct{}
}

// spawner runs the functions sent on spawn on one OS thread that stays
// alive until spawn is closed. The daemon is started from that thread with
// a parent-death signal, so it dies with the test process even when the
// test binary is killed (a test timeout) before Stop runs: Linux sends the
// signal when the thread that forked the child exits, and any other thread
// might exit at any time.
func (e *Env) spawner() {
	goruntime.LockOSThread()
	// Never unlocked: the thread ends with this goroutine.
	defer close(e.spawnDone)
	for f := range e.spawn {
		f()
	}
}

// Start starts a daemon in a new directory under /tmp and waits until it
// answers.
func Start() (*Env, error) {
	if why := Unavailable(); why != "" {
		return nil, errors.New(why)
	}
	dir, err := os.MkdirTemp("/tmp", "baton-ctrd-")
	if err != nil {
		return nil, fmt.Errorf("containerdtest: %w", err)
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	e := &Env{
		Dir:      dir,
		Address:  filepath.Join(dir, "c.sock"),
		StateDir: filepath.Join(dir, "baton"),
		Bridge:   "btest" + hex.EncodeToString(rnd[:2]),
		Subnet:   fmt.Sprintf("10.%d.%d.0/24", 200+int(rnd[2])%50, rnd[1]),
	}
	e.CgroupParent = "/" + filepath.Base(dir)
	if err := e.writeConfig(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	e.spawn, e.spawnDone = make(chan func()), make(chan struct{})
	go e.spawner()
	if err := e.StartDaemon(); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

func (e *Env) writeConfig() error {
	conf := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(e.Dir, "root"), filepath.Join(e.Dir, "state"), e.Address, e.Address+".ttrpc", filepath.Join(e.Dir, "opt"))
	if err := os.WriteFile(filepath.Join(e.Dir, "config.toml"), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("containerdtest: write config: %w", err)
	}
	return nil
}

// StartDaemon starts the daemon on the Env's root, state and socket, and
// waits until it answers. It fails if the daemon runs already.
func (e *Env) StartDaemon() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd != nil {
		return errors.New("containerdtest: containerd runs already")
	}
	logf, err := os.OpenFile(filepath.Join(e.Dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("containerdtest: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command("containerd", "--config", filepath.Join(e.Dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so stopping it stops nothing else; the
	// shims it starts make groups of their own and outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error)
	e.spawn <- func() { started <- cmd.Start() }
	if err := <-started; err != nil {
		return fmt.Errorf("containerdtest: start containerd: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	e.cmd, e.done = cmd, done
	if err := waitServing(e.Address, done, 30*time.Second); err != nil {
		return fmt.Errorf("%w\ncontainerd's log:\n%s", err, e.Log())
	}
	return nil
}

// waitServing polls the daemon at address until it answers, it exits, or
// timeout passes.
func waitServing(address string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(address); err == nil {
			c, err := client.New(address, client.WithTimeout(time.Second))
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err = c.Version(ctx)
				cancel()
				c.Close()
				if err == nil {
					return nil
				}
			}
		}
		select {
		case <-exited:
			return errors.New("containerdtest: containerd exited while starting")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerdtest: containerd did not answer at %s within %v", address, timeout)
		}
	}
}

// StopDaemon stops the daemon (SIGTERM, then SIGKILL after 10s), leaving
// its shims and containers running, as a restart of containerd does.
// Stopping a stopped daemon succeeds.
func (e *Env) StopDaemon() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return nil
	}
	pgid := e.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.done
	}
	e.cmd, e.done = nil, nil
	return nil
}

// Restart stops the daemon and starts it again.
func (e *Env) Restart() error {
	if err := e.StopDaemon(); err != nil {
		return err
	}
	return e.StartDaemon()
}

// Log returns the daemon's log so far.
func (e *Env) Log() string {
	b, err := os.ReadFile(filepath.Join(e.Dir, "containerd.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Stop stops the daemon, kills the shims it started and their containers,
// unmounts whatever is still mounted under Dir, deletes the Env's bridge and
// removes Dir. Tests should remove their containers first; Stop is the
// safety net.
func (e *Env) Stop() error {
	err := e.StopDaemon()
	if e.spawn != nil {
		close(e.spawn)
		<-e.spawnDone
		e.spawn = nil
	}
	e.killShims()
	if uerr := unmountUnder(e.Dir); uerr != nil && err == nil {
		err = uerr
	}
	if e.Bridge != "" {
		// Best effort: there is no bridge if no sandbox had a network.
		_ = exec.Command("ip", "link", "delete", e.Bridge).Run()
	}
	if e.CgroupParent != "" {
		// Empty once the containers are gone; runc leaves the parent.
		cgs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", e.CgroupParent))
		if own := filepath.Join("/sys/fs/cgroup", e.CgroupParent); isDir(own) {
			cgs = append(cgs, own)
		}
		for _, cg := range cgs {
			_ = os.Remove(cg)
		}
	}
	if rerr := os.RemoveAll(e.Dir); rerr != nil && err == nil {
		err = fmt.Errorf("containerdtest: %w", rerr)
	}
	return err
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// killShims kills, with SIGKILL, the shims serving this Env's daemon and
// their children (the containers' init processes).
func (e *Env) killShims() {
	procs := processes()
	for pid, p := range procs {
		if !strings.Contains(p.cmdline, "containerd-shim") || !strings.Contains(p.cmdline, e.Address) {
			continue
		}
		for cpid, c := range procs {
			if c.ppid == pid {
				_ = syscall.Kill(cpid, syscall.SIGKILL)
			}
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

type process struct {
	ppid    int
	cmdline string
}

// processes lists the host's processes by PID.
func processes() map[int]process {
	out := map[int]process{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, en := range entries {
		pid, err := strconv.Atoi(en.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", en.Name(), "cmdline"))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", en.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parens.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		out[pid] = process{ppid: ppid, cmdline: strings.ReplaceAll(string(cmdline), "\x00", " ")}
	}
	return out
}

// unmountUnder unmounts (lazily) every mount point under dir, deepest
// first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("containerdtest: %w", err)
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMount(fields[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	points = slices.Compact(points)
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("containerdtest: %w", errors.Join(errs...))
	}
	return nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// shared is the Env of Main.
var (
	shared    *Env
	sharedErr string
)

// Main starts an Env shared by the test binary, runs the tests, stops the
// Env and returns the exit code for os.Exit. Where containerd cannot run,
// it runs the tests without one (Shared then skips them), unless
// RequireEnv is set, when it fails at once.
func Main(m *testing.M) int {
	if why := Unavailable(); why != "" {
		if Required() {
			fmt.Fprintf(os.Stderr, "FAIL: %s is set, but %s\n", RequireEnv, why)
			return 1
		}
		sharedErr = why
		return m.Run()
	}
	env, err := Start()
	if err != nil {
		if Required() {
			fmt.Fprintf(os.Stderr, "FAIL: start containerd: %v\n", err)
			return 1
		}
		sharedErr = err.Error()
		return m.Run()
	}
	shared = env
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "containerdtest: stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	shared = nil
	return code
}

// Shared returns the Env that Main started, or skips tb (fails it, with
// RequireEnv set) when there is none.
func Shared(tb testing.TB) *Env {
	tb.Helper()
	if shared != nil {
		return shared
	}
	why := sharedErr
	if why == "" {
		why = "no containerd: call containerdtest.Main from TestMain"
	}
	if Required() {
		tb.Fatalf("%s=1 but containerd is not available: %s", RequireEnv, why)
	}
	tb.Skipf("skipping: %s (set %s=1 to make this a failure)", why, RequireEnv)
	return nil
}
