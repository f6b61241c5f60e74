package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childEnv marks the test binary's child processes, which compare starts
// as the sink and the client: they run main instead of the tests.
const childEnv = "PROXYBENCH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Setenv(childEnv, "1")
	goleak.VerifyTestMain(m)
}

// TestCompare runs a short benchmark end to end, with the kernel NAT path
// when root: every transfer completes and the sink confirms every byte
// (the client checks the count it echoes).
func TestCompare(t *testing.T) {
	if err := compare(1, 0.05, 64<<10, os.Geteuid() == 0); err != nil {
		t.Fatal(err)
	}
}

func TestBackendMustBeLoopback(t *testing.T) {
	for _, bad := range []string{"192.0.2.1:80", "127.0.0.1", "127.0.0.1:0", "[::1]:80", "localhost:80"} {
		if _, err := parseLoopbackBackend(bad); err == nil {
			t.Errorf("backend %q accepted", bad)
		}
	}
	if hp, err := parseLoopbackBackend("127.0.0.1:5201"); err != nil || hp.port != 5201 {
		t.Errorf("127.0.0.1:5201 = %+v, %v", hp, err)
	}
}
