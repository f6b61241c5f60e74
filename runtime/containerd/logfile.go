package containerd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/batonhq/baton/clock"
)

// Logs are written by the Runtime, not by containerd's shim: the shim
// writes each container's stdout and stderr into two FIFOs, and a goroutine
// per stream copies them into the container's log file, one record per line
// in the format the kubelet's CRI logs use:
//
//	2024-01-02T15:04:05.123456789Z stdout F the line
//
// (P instead of F marks a fragment of a line longer than the copy buffer).
// Owning the copy lets the Runtime rotate by size exactly, without losing
// lines, and wake followers at once. The shim holds the FIFOs open, so a
// container outlives the Runtime that started it: while no Runtime reads,
// its output waits in the pipe, and the next Runtime's New resumes copying
// (a container that writes more than the pipe holds, about 64 KiB, blocks
// on its writes meanwhile). That is the price of exact rotation; with
// containerd writing the file itself (cio.LogFile) nothing would block but
// rotation could lose lines and follow would have to poll.

// logLineMax is the longest line copied as one record; longer lines are
// split into P records.
const logLineMax = 16 << 10

// logFile is the log of one container while this process writes it.
type logFile struct {
	path     string
	maxSize  int64
	maxFiles int
	clock    clock.Clock

	mu sync.Mutex // guards every field below
	// f is the current file, and size its length.
	f    *os.File
	size int64
	// rotations counts rotations, so followers know to reopen path.
	rotations uint64
	// changed is closed and replaced at every write and rotation.
	changed chan struct{}
	// streams counts streams still being copied; done is closed when it
	// drops to zero.
	streams int
	done    chan struct{}
	// readers are the streams' FIFOs, closed by detach.
	readers []io.Closer
	// err is the first write error, reported by followers.
	err error
}

func openLogFile(path string, maxSize int64, maxFiles int, clk clock.Clock) (*logFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("make log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat log file: %w", err)
	}
	return &logFile{
		path:     path,
		maxSize:  maxSize,
		maxFiles: maxFiles,
		clock:    clk,
		f:        f,
		size:     st.Size(),
		changed:  make(chan struct{}),
		done:     make(chan struct{}),
	}, nil
}

// copyStream copies rd, the stream named stream ("stdout" or "stderr"),
// into the log until it ends, then closes it. The caller has counted the
// stream in l.streams.
func (l *logFile) copyStream(stream string, rd io.ReadCloser) {
	defer l.endStream(rd)
	br := bufio.NewReaderSize(rd, logLineMax)
	var rec []byte
	for {
		line, err := br.ReadSlice('\n')
		tag := byte('F')
		switch {
		case err == nil:
			line = line[:len(line)-1]
		case errors.Is(err, bufio.ErrBufferFull):
			tag = 'P'
		case len(line) == 0:
			return
		default:
			// The stream ended with an unterminated line: a whole
			// one if the writer is gone, part of one if the Runtime
			// detached (the next Runtime copies the rest).
			if !errors.Is(err, io.EOF) {
				tag = 'P'
			}
		}
		rec = appendRecord(rec[:0], l.clock.Now(), stream, tag, line)
		l.write(rec)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// appendRecord appends one log record to b.
func appendRecord(b []byte, t time.Time, stream string, tag byte, line []byte) []byte {
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, ' ', tag, ' ')
	b = append(b, line...)
	return append(b, '\n')
}

func (l *logFile) endStream(rd io.Closer) {
	rd.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.streams--
	if l.streams == 0 {
		if l.f != nil {
			l.f.Close()
			l.f = nil
		}
		close(l.done)
	}
}

// write appends rec to the log, rotating first if it would outgrow
// maxSize.
func (l *logFile) write(rec []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return
	}
	if l.size > 0 && l.size+int64(len(rec)) > l.maxSize {
		if err := l.rotateLocked(); err != nil && l.err == nil {
			l.err = err
		}
	}
	n, err := l.f.Write(rec)
	l.size += int64(n)
	if err != nil && l.err == nil {
		l.err = fmt.Errorf("write log %s: %w", l.path, err)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// rotateLocked shifts path.N-1 to path.N … path to path.1, dropping the
// oldest, and starts path afresh.
func (l *logFile) rotateLocked() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("rotate log %s: %w", l.path, err)
	}
	l.f = nil
	for i := l.maxFiles - 1; i >= 1; i-- {
		from := l.path
		if i > 1 {
			from = rotatedPath(l.path, i-1)
		}
		if err := os.Rename(from, rotatedPath(l.path, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate log %s: %w", l.path, err)
		}
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("rotate log %s: %w", l.path, err)
	}
	l.f, l.size = f, 0
	l.rotations++
	return nil
}

// rotatedPath names the nth older file of the log at path.
func rotatedPath(path string, n int) string { return path + "." + strconv.Itoa(n) }

// detach stops copying: the streams' goroutines end, leaving what the
// container writes from now on in its FIFOs.
func (l *logFile) detach() {
	l.mu.Lock()
	readers := l.readers
	l.readers = nil
	l.mu.Unlock()
	for _, rd := range readers {
		rd.Close()
	}
}

// ended reports whether every stream has ended.
func (l *logFile) ended() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}
