package main

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The quickstart's whole story runs to the end: every step it prints is
// waited for, so run fails if any of them does not happen.
func TestQuickstartRuns(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		t.Fatalf("quickstart: %v", err)
	}
}
