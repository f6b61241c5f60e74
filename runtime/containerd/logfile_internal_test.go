package containerd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/clock"
)

// These tests need neither root nor containerd.

// collect reads the records of the given files in order, as ContainerLogs
// does, keeping the last tail lines when tail > 0.
func collect(t *testing.T, tail int, paths ...string) []string {
	t.Helper()
	var buf bytes.Buffer
	out := &lineOut{w: &buf, tail: tail}
	for _, p := range paths {
		if err := out.readFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.flushTail(); err != nil {
		t.Fatal(err)
	}
	if err := out.flushPartial(); err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestLogFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	l, err := openLogFile(path, 200, 3, clock.NewFake(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	l.streams = 1
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		l.copyStream("stdout", pr)
		close(done)
	}()
	for i := range 40 {
		fmt.Fprintf(pw, "line %02d\n", i)
	}
	pw.Close()
	<-done
	if !l.ended() {
		t.Fatalf("the log has not ended after its only stream did")
	}
	var files []string
	for n := 2; n >= 1; n-- {
		files = append(files, rotatedPath(path, n))
	}
	files = append(files, path)
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatalf("want %s: %v", f, err)
		}
		if st.Size() > 200 {
			t.Errorf("%s has %d bytes; want at most 200", f, st.Size())
		}
	}
	if _, err := os.Stat(rotatedPath(path, 3)); err == nil {
		t.Errorf("a fourth file exists; want 3 kept")
	}
	got := collect(t, 0, files...)
	if len(got) == 0 || got[len(got)-1] != "line 39" {
		t.Fatalf("lines %q; want them to end with line 39", got)
	}
	first := 40 - len(got)
	for i, line := range got {
		if want := fmt.Sprintf("line %02d", first+i); line != want {
			t.Errorf("line %d = %q; want %q", i, line, want)
		}
	}
	if tail := collect(t, 2, files...); !slices.Equal(tail, []string{"line 38", "line 39"}) {
		t.Errorf("tail 2 = %q", tail)
	}
}

func TestLogLongAndUnterminatedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	l, err := openLogFile(path, 1<<20, 2, clock.Real())
	if err != nil {
		t.Fatal(err)
	}
	l.streams = 2
	long := strings.Repeat("x", 3*logLineMax+5)
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan struct{}, 2)
	go func() { l.copyStream("stdout", outR); done <- struct{}{} }()
	go func() { l.copyStream("stderr", errR); done <- struct{}{} }()
	io.WriteString(outW, long+"\n")
	io.WriteString(errW, "an error\n")
	io.WriteString(outW, "cut short")
	outW.Close()
	errW.Close()
	<-done
	<-done
	got := collect(t, 0, path)
	slices.Sort(got)
	if len(got) != 3 || got[0] != "an error" || got[1] != "cut short" || got[2] != long {
		t.Errorf("got %d lines; want the long one whole, an error, cut short", len(got))
	}
	data, _ := os.ReadFile(path)
	if n := bytes.Count(data, []byte(" stdout P ")); n != 3 {
		t.Errorf("%d partial records; want the long line in 3 P records and an F", n)
	}
}

// A reader that reaches the end of a record being written waits for the
// rest.
func TestRecordReaderWaitsForWholeRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr := newRecordReader(r)
	io.WriteString(w, "2024-01-01T00:00:00Z stdout F one\n2024-01-01T00:00:00Z std")
	if _, _, content, ok, err := rr.next(); !ok || err != nil || string(content) != "one" {
		t.Fatalf("first record = %q, %v, %v", content, ok, err)
	}
	if _, _, _, ok, err := rr.next(); ok || err != nil {
		t.Fatalf("a cut record was returned (ok %v, err %v)", ok, err)
	}
	io.WriteString(w, "err F two\n")
	stream, tag, content, ok, err := rr.next()
	if !ok || err != nil || stream != "stderr" || tag != 'F' || string(content) != "two" {
		t.Fatalf("completed record = %s %c %q, %v, %v", stream, tag, content, ok, err)
	}
	if s, tag, c := parseRecord([]byte("garbage")); s != "stdout" || tag != 'F' || string(c) != "garbage" {
		t.Errorf("malformed record parsed as %s %c %q; want it whole on stdout", s, tag, c)
	}
}

func TestContainerLabelsKeepBatonsOwn(t *testing.T) {
	got := containerLabels(
		map[string]string{"io.baton.pod.name": "forged", "containerd.io/gc.root": "x", "vendor": "acme", "shared": "image"},
		map[string]string{"io.baton.pod.name": "real", "io.baton.runtime.kind": "forged", "shared": "config"},
		map[string]string{labelKind: kindContainer},
	)
	want := map[string]string{"io.baton.pod.name": "real", labelKind: kindContainer, "vendor": "acme", "shared": "config"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("containerLabels = %v; want %v", got, want)
	}
}

func TestCPUConversions(t *testing.T) {
	for _, tc := range []struct {
		milli  int64
		shares uint64
		quota  int64
	}{{1, 2, 1000}, {250, 256, 25000}, {1000, 1024, 100000}, {2500, 2560, 250000}} {
		if s := milliCPUToShares(tc.milli); s != tc.shares {
			t.Errorf("milliCPUToShares(%d) = %d; want %d", tc.milli, s, tc.shares)
		}
		if q := milliCPUToQuota(tc.milli); q != tc.quota {
			t.Errorf("milliCPUToQuota(%d) = %d; want %d", tc.milli, q, tc.quota)
		}
	}
}

func TestNormalizeRef(t *testing.T) {
	if got, err := normalizeRef("busybox"); err != nil || !strings.HasSuffix(got, "/library/busybox:latest") {
		t.Errorf("normalizeRef(busybox) = %q, %v; want the latest tag of the library repository", got, err)
	}
	for in, want := range map[string]string{
		"localhost/baton/busybox:1":                            "localhost/baton/busybox:1",
		"127.0.0.1:5000/a/b@sha256:" + strings.Repeat("a", 64): "127.0.0.1:5000/a/b@sha256:" + strings.Repeat("a", 64),
	} {
		if got, err := normalizeRef(in); err != nil || got != want {
			t.Errorf("normalizeRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := normalizeRef("Not Valid!"); err == nil {
		t.Errorf("normalizeRef of an invalid reference succeeded")
	}
	if sig := signalNumber("SIGQUIT"); sig != 3 {
		t.Errorf("signalNumber(SIGQUIT) = %d", sig)
	}
	if sig := signalNumber(""); sig != 15 {
		t.Errorf("signalNumber(\"\") = %d", sig)
	}
}

// readFile reads every record of the file at path, if it exists.
func (o *lineOut) readFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return o.read(newRecordReader(f))
}
