package runtimetest

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/batonhq/baton/runtime"
)

func testExec(s *suite) {
	p := s.h.ExecProbe
	if p == nil {
		s.Skip("the Harness has no ExecProbe")
	}
	sb := s.sandbox("web")
	c := s.running(sb.ID, s.h.LongRunning("app"))

	var stdout, stderr bytes.Buffer
	code, err := s.rt.Exec(s.ctx, c.ID, p.Succeed, runtime.ExecOptions{Stdout: &stdout, Stderr: &stderr})
	s.noErr("Exec of the succeeding command", err)
	if code != 0 {
		s.Errorf("Exec(%q) = exit code %d (stderr %q); want 0", p.Succeed, code, stderr.String())
	}
	if p.Stdout != "" && stdout.String() != p.Stdout {
		s.Errorf("Exec(%q) wrote %q to stdout; want %q", p.Succeed, stdout.String(), p.Stdout)
	}
	code, err = s.rt.Exec(s.ctx, c.ID, p.Fail, runtime.ExecOptions{})
	s.noErr("Exec of the failing command (a non-zero exit is not an error)", err)
	if code != p.FailCode {
		s.Errorf("Exec(%q) = exit code %d; want %d", p.Fail, code, p.FailCode)
	}

	_, err = s.rt.Exec(s.ctx, "runtimetest-missing-"+s.run, p.Succeed, runtime.ExecOptions{})
	s.wantErr("Exec in an unknown container", err, runtime.ErrNotFound)
	s.noErr("StopContainer", s.rt.StopContainer(s.ctx, c.ID, promptGrace))
	if _, err := s.rt.Exec(s.ctx, c.ID, p.Succeed, runtime.ExecOptions{}); err == nil {
		s.Errorf("Exec in an Exited container succeeded; want an error")
	}
}

func testLogs(s *suite) {
	lines := []string{"first line", "second line", "third line"}
	sb := s.sandbox("web")
	c := s.running(sb.ID, s.h.Prints("printer", lines))

	// Follow until every line has come, then stop the container: the
	// follow must end by itself.
	w := &lineWriter{want: len(lines), full: make(chan struct{})}
	ctx, cancel := s.waitCtx()
	defer cancel()
	followed := make(chan error, 1)
	go func() {
		followed <- s.rt.ContainerLogs(ctx, c.ID, runtime.LogOptions{Follow: true}, w)
	}()
	select {
	case <-w.full:
	case <-ctx.Done():
		s.Fatalf("following the logs of %s gave %q in %v; want %q", describe(c), w.got(), s.timeout, lines)
	}
	s.noErr("StopContainer", s.rt.StopContainer(s.ctx, c.ID, promptGrace))
	select {
	case err := <-followed:
		s.noErr("ContainerLogs with Follow of a container that exited", err)
	case <-ctx.Done():
		s.Fatalf("ContainerLogs with Follow still runs %v after the container exited; want it to end", s.timeout)
	}
	w.check(s, "ContainerLogs with Follow", lines)

	for _, tc := range []struct {
		tail int
		want []string
	}{
		{0, lines},
		{2, lines[1:]},
		{1, lines[2:]},
		{10, lines},
	} {
		w := &lineWriter{}
		s.noErr("ContainerLogs", s.rt.ContainerLogs(s.ctx, c.ID, runtime.LogOptions{TailLines: tc.tail}, w))
		w.check(s, "ContainerLogs with TailLines "+strconv.Itoa(tc.tail), tc.want)
	}

	err := s.rt.ContainerLogs(s.ctx, "runtimetest-missing-"+s.run, runtime.LogOptions{}, &lineWriter{})
	s.wantErr("ContainerLogs of an unknown container", err, runtime.ErrNotFound)
}

// lineWriter collects log writes, each of which must be one line.
type lineWriter struct {
	mu     sync.Mutex // guards writes and full
	writes []string
	// want and full: full is closed once want lines have been written.
	want int
	full chan struct{}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	if w.full != nil && len(w.writes) == w.want {
		close(w.full)
	}
	return len(p), nil
}

func (w *lineWriter) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

// check checks that the writes were the lines want, one per write.
func (w *lineWriter) check(s *suite, what string, want []string) {
	s.Helper()
	writes := w.got()
	var lines []string
	for _, wr := range writes {
		line := strings.TrimSuffix(wr, "\n")
		if strings.Contains(line, "\n") {
			s.Errorf("%s: one Write held several lines, %q; want one line per Write", what, wr)
		}
		lines = append(lines, strings.TrimSuffix(line, "\r"))
	}
	if !slices.Equal(lines, want) {
		s.Errorf("%s wrote %q; want the lines %q", what, writes, want)
	}
}

func testStats(s *suite) {
	sb := s.sandbox("web")
	c := s.running(sb.ID, s.h.LongRunning("app"))
	st, err := s.rt.ContainerStats(s.ctx, c.ID)
	s.noErr("ContainerStats of a running container", err)
	if st.Timestamp.IsZero() {
		s.Errorf("ContainerStats of %s has a zero Timestamp; want when it was measured", describe(c))
	}
	_, err = s.rt.ContainerStats(s.ctx, "runtimetest-missing-"+s.run)
	s.wantErr("ContainerStats of an unknown container", err, runtime.ErrNotFound)
}
