package containerd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/batonhq/baton/runtime"
)

// ContainerLogs writes the container's output to w, stdout and stderr
// interleaved as they came, one line (with its newline) per Write, from the
// rotated files it still keeps (see WithLogRotation) on. With TailLines it
// starts with the last that many lines. With Follow it then writes lines as
// they come, across rotations, and returns nil once the container has
// exited and every line is written, or an error wrapping ctx.Err() when ctx
// ends first. Following a container that this Runtime is not copying the
// output of (it is not running, or a Runtime closed meanwhile) writes what
// there is and returns. It fails with an error matching runtime.ErrNotFound
// for an unknown container.
func (r *Runtime) ContainerLogs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	nctx, err := r.enter(ctx)
	if err != nil {
		return err
	}
	rec, err := r.getContainer(nctx, id)
	if err != nil {
		return err
	}
	path := r.logPath(rec.sandboxID, id)
	l := r.activeLog(id)

	// Open every file at once, under the log's lock, so a rotation cannot
	// slip between them: renaming does not move an open file's content.
	var rotations uint64
	if l != nil {
		l.mu.Lock()
		rotations = l.rotations
	}
	var older []*os.File
	for n := r.opts.logMaxFiles - 1; n >= 1; n-- {
		if f, err := os.Open(rotatedPath(path, n)); err == nil {
			older = append(older, f)
		}
	}
	cur, err := os.Open(path)
	if l != nil {
		l.mu.Unlock()
	}
	defer func() {
		for _, f := range older {
			f.Close()
		}
		if cur != nil {
			cur.Close()
		}
	}()
	if errors.Is(err, os.ErrNotExist) {
		cur = nil
	} else if err != nil {
		return fmt.Errorf("containerd runtime: logs of container %s: %w", id, err)
	}

	out := &lineOut{w: w, tail: opts.TailLines}
	for _, f := range older {
		if err := out.read(newRecordReader(f)); err != nil {
			return fmt.Errorf("containerd runtime: logs of container %s: %w", id, err)
		}
	}
	var rd *recordReader
	if cur != nil {
		rd = newRecordReader(cur)
		if err := out.read(rd); err != nil {
			return fmt.Errorf("containerd runtime: logs of container %s: %w", id, err)
		}
	}
	if err := out.flushTail(); err != nil {
		return fmt.Errorf("containerd runtime: logs of container %s: %w", id, err)
	}
	if !opts.Follow || l == nil {
		return out.flushPartial()
	}

	// Follow.
	for {
		l.mu.Lock()
		changed, rotated, ended := l.changed, l.rotations != rotations, l.ended()
		var next *os.File
		if rotated || cur == nil {
			next, err = os.Open(path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				l.mu.Unlock()
				return fmt.Errorf("containerd runtime: follow logs of container %s: %w", id, err)
			}
			rotations = l.rotations
		}
		l.mu.Unlock()
		if rd != nil {
			// What the old file got before it was rotated, or what came
			// since the last read.
			if err := out.read(rd); err != nil {
				return fmt.Errorf("containerd runtime: follow logs of container %s: %w", id, err)
			}
		}
		if next != nil {
			if cur != nil {
				cur.Close()
			}
			cur, rd = next, newRecordReader(next)
			if err := out.read(rd); err != nil {
				return fmt.Errorf("containerd runtime: follow logs of container %s: %w", id, err)
			}
		}
		if ended {
			return out.flushPartial()
		}
		select {
		case <-changed:
		case <-l.done:
		case <-ctx.Done():
			return fmt.Errorf("containerd runtime: follow logs of container %s: %w", id, ctx.Err())
		}
	}
}

// lineOut assembles lines from log records and writes them, or, with a
// positive tail, keeps the last tail lines until flushTail.
type lineOut struct {
	w       io.Writer
	tail    int
	ring    [][]byte // with tail: the last lines, oldest first from ringAt
	ringAt  int
	partial map[string][]byte // by stream: the fragments of an unfinished line
	tailed  bool              // flushTail has run: write lines at once
}

// read reads rd's records up to the end of what is written.
func (o *lineOut) read(rd *recordReader) error {
	for {
		stream, tag, content, ok, err := rd.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if tag == 'P' {
			if o.partial == nil {
				o.partial = make(map[string][]byte)
			}
			o.partial[stream] = append(o.partial[stream], content...)
			continue
		}
		line := append(o.partial[stream], content...)
		delete(o.partial, stream)
		if err := o.emit(append(line, '\n')); err != nil {
			return err
		}
	}
}

func (o *lineOut) emit(line []byte) error {
	if o.tail <= 0 || o.tailed {
		_, err := o.w.Write(line)
		return err
	}
	if len(o.ring) < o.tail {
		o.ring = append(o.ring, line)
		return nil
	}
	o.ring[o.ringAt] = line
	o.ringAt = (o.ringAt + 1) % o.tail
	return nil
}

// flushTail writes the kept lines; lines after it are written at once.
func (o *lineOut) flushTail() error {
	if o.tailed {
		return nil
	}
	o.tailed = true
	for i := range o.ring {
		if _, err := o.w.Write(o.ring[(o.ringAt+i)%len(o.ring)]); err != nil {
			return err
		}
	}
	o.ring = nil
	return nil
}

// flushPartial writes unfinished lines, as when a container exited in the
// middle of one.
func (o *lineOut) flushPartial() error {
	for stream, line := range o.partial {
		if _, err := o.w.Write(append(line, '\n')); err != nil {
			return err
		}
		delete(o.partial, stream)
	}
	return nil
}

// recordReader reads log records from a file that may still be written:
// a record cut short by the end of the file is kept until the rest comes.
type recordReader struct {
	br      *bufio.Reader
	pending []byte
}

func newRecordReader(f *os.File) *recordReader {
	return &recordReader{br: bufio.NewReaderSize(f, 2*logLineMax)}
}

// next returns the next whole record, or ok false at the end of what is
// written. A malformed record is returned whole as stdout content.
func (rr *recordReader) next() (stream string, tag byte, content []byte, ok bool, err error) {
	for {
		chunk, err := rr.br.ReadSlice('\n')
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			rr.pending = append(rr.pending, chunk...)
			continue
		case errors.Is(err, io.EOF):
			rr.pending = append(rr.pending, chunk...)
			return "", 0, nil, false, nil
		default:
			return "", 0, nil, false, err
		}
		rec := chunk
		if len(rr.pending) > 0 {
			rec = append(rr.pending, chunk...)
			rr.pending = nil
		}
		rec = rec[:len(rec)-1]
		stream, tag, content := parseRecord(rec)
		return stream, tag, bytes.Clone(content), true, nil
	}
}

// parseRecord splits "<time> <stream> <P|F> <content>".
func parseRecord(rec []byte) (stream string, tag byte, content []byte) {
	fields := bytes.SplitN(rec, []byte{' '}, 4)
	if len(fields) < 3 || len(fields[2]) != 1 || (fields[2][0] != 'P' && fields[2][0] != 'F') {
		return "stdout", 'F', rec
	}
	if len(fields) == 4 {
		content = fields[3]
	}
	return string(fields[1]), fields[2][0], content
}
