package scheduler

import (
	"flag"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ instead of comparing with them")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
