package containerd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/fifo"
)

// logPath is where container id of sandbox sandboxID logs.
func (r *Runtime) logPath(sandboxID, id string) string {
	return filepath.Join(r.opts.logDir(), sandboxID, id+".log")
}

// fifoPath is the directory of container id's FIFOs.
func (r *Runtime) fifoPath(id string) string { return filepath.Join(r.opts.fifoDir(), id) }

// taskIO is the cio.IO of a container's task: FIFOs that the Runtime copies
// into the container's log. Cancel and Close stop the copying (containerd's
// client calls them when a task fails to be made or started); the FIFOs
// themselves are removed with the task.
type taskIO struct {
	config cio.Config
	log    *logFile
}

func (t *taskIO) Config() cio.Config { return t.config }
func (t *taskIO) Cancel()            { t.log.detach() }
func (t *taskIO) Wait()              { <-t.log.done }
func (t *taskIO) Close() error       { t.log.detach(); return nil }

// taskIOCreator returns the cio.Creator for container rec's task.
func (r *Runtime) taskIOCreator(rec containerRecord) cio.Creator {
	return func(id string) (cio.IO, error) {
		dir := r.fifoPath(id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("make FIFO dir: %w", err)
		}
		cfg := cio.Config{
			Stdout: filepath.Join(dir, "stdout"),
			Stderr: filepath.Join(dir, "stderr"),
		}
		l, err := r.startLog(rec, cfg.Stdout, cfg.Stderr)
		if err != nil {
			return nil, err
		}
		return &taskIO{config: cfg, log: l}, nil
	}
}

// startLog opens container rec's log and copies the FIFOs at stdout and
// stderr into it (creating them if need be) until their writer closes them
// or the log is detached. It replaces any log of rec being copied already.
func (r *Runtime) startLog(rec containerRecord, stdout, stderr string) (*logFile, error) {
	l, err := openLogFile(r.logPath(rec.sandboxID, rec.id), r.opts.logMaxSize, r.opts.logMaxFiles, r.clock)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", rec.id, err)
	}
	type stream struct {
		name string
		rd   io.ReadCloser
	}
	var streams []stream
	for _, s := range []struct{ name, path string }{{"stdout", stdout}, {"stderr", stderr}} {
		if s.path == "" {
			continue
		}
		rd, err := fifo.OpenFifo(r.ctx, s.path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
		if err != nil {
			for _, o := range streams {
				o.rd.Close()
			}
			l.f.Close()
			return nil, fmt.Errorf("container %s: open %s FIFO: %w", rec.id, s.name, err)
		}
		streams = append(streams, stream{s.name, rd})
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		for _, s := range streams {
			s.rd.Close()
		}
		l.f.Close()
		return nil, ErrClosed
	}
	old := r.logs[rec.id]
	r.logs[rec.id] = l
	l.streams = len(streams)
	if l.streams == 0 {
		l.f.Close()
		l.f = nil
		close(l.done)
	}
	for _, s := range streams {
		l.readers = append(l.readers, s.rd)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			l.copyStream(s.name, s.rd)
			r.forgetLog(rec.id, l)
		}()
	}
	r.mu.Unlock()
	if old != nil {
		old.detach()
	}
	return l, nil
}

// forgetLog drops l from the logs being copied once it has ended.
func (r *Runtime) forgetLog(id string, l *logFile) {
	if !l.ended() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.logs[id] == l {
		delete(r.logs, id)
	}
}

// activeLog returns the log of container id being copied, or nil.
func (r *Runtime) activeLog(id string) *logFile {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs[id]
}
