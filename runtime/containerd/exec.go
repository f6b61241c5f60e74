package containerd

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"

	"github.com/batonhq/baton/runtime"
)

// Exec runs cmd in the running container, as a process that shares its
// namespaces, cgroup, user, environment and working directory, with the
// streams of opts (nil discards output and gives no stdin; a non-nil Stdin
// is copied until it ends; Stdout and Stderr are never written at once, so
// they may be the same writer). It returns the exit code once the process has
// exited and its output is copied; a non-zero exit is not an error. If ctx
// ends first, the process is killed and the error wraps ctx.Err(). It fails
// with an error matching runtime.ErrNotFound for an unknown container and
// runtime.ErrFailedPrecondition for one that is not running.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return 0, err
	}
	if len(cmd) == 0 {
		return 0, fmt.Errorf("containerd runtime: exec in container %s: the command is empty", id)
	}
	_, c, err := r.loadContainer(ctx, id)
	if err != nil {
		return 0, err
	}
	t, err := r.getTask(ctx, id)
	if err != nil {
		return 0, err
	}
	if t == nil || t.Status != task.Status_RUNNING {
		return 0, errorf(runtime.ErrFailedPrecondition, "exec in container %s: it is not running", id)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		return 0, wrapErr(err, "exec in container %s: read its spec", id)
	}
	ctask, err := c.Task(ctx, nil)
	if err != nil {
		return 0, wrapErr(err, "exec in container %s", id)
	}
	pspec := *spec.Process
	pspec.Args = cmd
	pspec.Terminal = false

	// containerd's shim wants both output streams or neither. They are
	// copied by two goroutines; one lock keeps their writes apart, so
	// the caller may pass one writer for both.
	var outMu sync.Mutex
	stdout, stderr := io.Writer(io.Discard), io.Writer(io.Discard)
	if opts.Stdout != nil {
		stdout = &lockedWriter{mu: &outMu, w: opts.Stdout}
	}
	if opts.Stderr != nil {
		stderr = &lockedWriter{mu: &outMu, w: opts.Stderr}
	}
	var stdin io.Reader
	var closeStdin *stdinCloser
	if opts.Stdin != nil {
		closeStdin = &stdinCloser{r: opts.Stdin, ready: make(chan struct{})}
		stdin = closeStdin
	}
	streams := []cio.Opt{
		cio.WithFIFODir(filepath.Join(r.opts.fifoDir(), "exec")),
		cio.WithStreams(stdin, stdout, stderr),
	}
	execID := "exec-" + newID()[:16]
	p, err := ctask.Exec(ctx, execID, &pspec, cio.NewCreator(streams...))
	if closeStdin != nil {
		if err == nil {
			// The process's stdin closes only when asked to.
			closeStdin.close = func() {
				cctx, cancel := r.background(10 * time.Second)
				defer cancel()
				_ = p.CloseIO(cctx, client.WithStdinCloser)
			}
		}
		close(closeStdin.ready)
	}
	if err != nil {
		return 0, wrapErr(err, "exec in container %s", id)
	}
	// Delete the process however this ends, even if ctx has.
	defer func() {
		dctx, cancel := r.background(time.Minute)
		defer cancel()
		_, _ = p.Delete(dctx)
	}()
	exited, err := p.Wait(ctx)
	if err != nil {
		return 0, wrapErr(err, "exec in container %s", id)
	}
	if err := p.Start(ctx); err != nil {
		return 0, wrapErr(err, "exec %q in container %s", cmd[0], id)
	}
	select {
	case st := <-exited:
		code, _, err := st.Result()
		if err != nil {
			return 0, wrapErr(err, "exec in container %s", id)
		}
		p.IO().Wait()
		return int(code), nil
	case <-ctx.Done():
		kctx, cancel := r.background(10 * time.Second)
		defer cancel()
		_ = p.Kill(kctx, syscall.SIGKILL)
		<-exited
		return 0, fmt.Errorf("containerd runtime: exec in container %s: %w", id, ctx.Err())
	}
}

// stdinCloser reads r and, once r ends, closes the exec'd process's stdin
// with close (set before ready is closed).
type stdinCloser struct {
	r     io.Reader
	ready chan struct{}
	close func()
	once  sync.Once
}

func (s *stdinCloser) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil {
		<-s.ready
		if s.close != nil {
			s.once.Do(s.close)
		}
	}
	return n, err
}

// lockedWriter writes to w holding mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
