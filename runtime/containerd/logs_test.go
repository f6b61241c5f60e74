package containerd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
)

// Logs rotate by size, keep a bounded number of files, and a follower
// sees every line across rotations.
func TestLogRotation(t *testing.T) {
	rt := newRuntime(t, containerd.WithLogRotation(2048, 3))
	evs := events(t, rt)
	sb := sandbox(t, rt, "chatty")
	const n = 200
	c, err := rt.CreateContainer(testCtx(t), sb.ID, sh("chatty",
		fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo line-$i; i=$((i+1)); sleep 0.005; done`, n)))
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(testCtx(t), c.ID); err != nil {
		t.Fatal(err)
	}
	followed := &lineCollector{}
	stop := follow(t, rt, c.ID, runtime.LogOptions{}, followed)
	waitEvent(t, evs, c.ID, runtime.ContainerExitedEvent)
	if err := stop(); err != nil {
		t.Fatalf("follow: %v", err)
	}
	got := followed.lines()
	if len(got) == 0 || got[len(got)-1] != fmt.Sprintf("line-%d", n-1) {
		t.Fatalf("follower got %d lines ending %q; want them to end with line-%d", len(got), got[len(got)-1:], n-1)
	}
	first := 0
	if _, err := fmt.Sscanf(got[0], "line-%d", &first); err != nil {
		t.Fatalf("follower's first line %q", got[0])
	}
	for i, line := range got {
		if line != fmt.Sprintf("line-%d", first+i) {
			t.Fatalf("follower line %d = %q; want line-%d (lines lost across a rotation?)", i, line, first+i)
		}
	}

	files, _ := filepath.Glob(filepath.Join(rt.env.StateDir, "logs", sb.ID, c.ID+".log*"))
	if len(files) == 0 || len(files) > 3 {
		t.Errorf("log files %v; want 1 to 3", files)
	}
	var total int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 2048 {
			t.Errorf("log file %s holds %d bytes; want at most 2048", f, st.Size())
		}
		total += st.Size()
	}
	kept := logs(t, rt, c.ID)
	if len(kept) == 0 || len(kept) >= n || kept[len(kept)-1] != fmt.Sprintf("line-%d", n-1) {
		t.Errorf("kept %d lines ending %q; want fewer than %d (rotated away), ending with the last", len(kept), kept[len(kept)-1:], n)
	}
	w := &lineCollector{}
	if err := rt.ContainerLogs(testCtx(t), c.ID, runtime.LogOptions{TailLines: 3}, w); err != nil {
		t.Fatal(err)
	}
	if want := []string{"line-197", "line-198", "line-199"}; !slices.Equal(w.lines(), want) {
		t.Errorf("TailLines 3 = %q; want %q", w.lines(), want)
	}
}

// Long lines come back whole, and so does an unterminated last line;
// stderr is interleaved with stdout.
func TestLogLinesAndStreams(t *testing.T) {
	rt := newRuntime(t)
	evs := events(t, rt)
	sb := sandbox(t, rt, "long")
	// 10 × 2^12 = 40960 characters: longer than the copy buffer.
	c := start(t, rt, sb, sh("long", `x=0123456789; i=0; while [ $i -lt 12 ]; do x=$x$x; i=$((i+1)); done; echo $x; echo to-stderr >&2; printf 'no newline at the end'`))
	if st := status(t, rt, c.ID); st.State != runtime.ContainerExited {
		waitEvent(t, evs, c.ID, runtime.ContainerExitedEvent)
	}
	// The streams are copied apart: only each one's order is kept.
	got := logs(t, rt, c.ID)
	var stdout []string
	for _, l := range got {
		if l != "to-stderr" {
			stdout = append(stdout, l)
		}
	}
	if len(got) != 3 || len(stdout) != 2 || len(stdout[0]) != 40960 || strings.Trim(stdout[0], "0123456789") != "" || stdout[1] != "no newline at the end" {
		short := make([]string, len(got))
		for i, l := range got {
			short[i] = fmt.Sprintf("%d bytes: %.30q", len(l), l)
		}
		t.Errorf("logs = %v; want a 40960-byte line, to-stderr, and the unterminated line", short)
	}
}
