package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
)

// startWebV1 creates Deployment "web" of 3 busybox httpd Pods answering
// "v1 ..." and Service "web" in front, and returns the Service once its 3
// endpoints resolve. SIGTERM is lost on httpd (PID 1 without a handler):
// each old Pod of a rollout serves until it is killed at the end of its
// 2 s grace period, well after it left the Service.
func startWebV1(t *testing.T, c *cluster) *baton.Service {
	t.Helper()
	d := versionedHTTPD("web", "v1")
	d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr[int64](2)
	if _, err := c.Deployments("default").Create(ctxFor(t), d); err != nil {
		t.Fatal(err)
	}
	svc, err := c.Services("default").Create(ctxFor(t), webService())
	if err != nil {
		t.Fatal(err)
	}
	rollout(t, c.Orchestrator, "web")
	waitResolvable(t, c.Orchestrator, 3)
	return svc
}

// requestLoad sends GET requests continuously and counts the answers by
// version (the first word of each body) and the failures, for the tests
// that no request fails during a rolling update.
type requestLoad struct {
	stop func()
	wg   sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	versions map[string]int
	failures []string
}

// startRequests starts perURL goroutines for each client, each sending
// requests to the client's URL until finish.
func startRequests(clients map[*http.Client]string, perURL int) *requestLoad {
	ctx, stop := context.WithCancel(context.Background())
	l := &requestLoad{stop: stop, versions: map[string]int{}}
	for client, url := range clients {
		for range perURL {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for ctx.Err() == nil {
					body, err := fetch(client, url)
					l.mu.Lock()
					if err != nil {
						l.failures = append(l.failures, fmt.Sprintf("%s GET %s: %v", time.Now().Format("15:04:05.000"), url, err))
					} else {
						version, _, _ := strings.Cut(body, " ")
						l.versions[version]++
					}
					l.mu.Unlock()
				}
			}()
		}
	}
	return l
}

// count returns how many requests version has answered so far.
func (l *requestLoad) count(version string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.versions[version]
}

// waitCount waits until version has answered at least n requests.
func (l *requestLoad) waitCount(t *testing.T, what, version string, n int) {
	t.Helper()
	eventually(t, what, func() (bool, string) {
		return l.count(version) >= n, fmt.Sprint(l.count(version))
	})
}

// finish stops the requests, fails t if any failed or if anything but v1
// and v2 answered, and returns the answers by version and the number of
// requests sent.
func (l *requestLoad) finish(t *testing.T) (versions map[string]int, sent int) {
	t.Helper()
	l.stop()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) > 0 {
		t.Errorf("%d failed requests during the rollout:\n  %s", len(l.failures), strings.Join(l.failures[:min(len(l.failures), 10)], "\n  "))
	}
	if l.versions["v1"] == 0 || l.versions["v2"] == 0 || len(l.versions) != 2 {
		t.Errorf("answers by version: %v; want v1 and v2 only", l.versions)
	}
	t.Logf("answers by version: %v", l.versions)
	sent = len(l.failures)
	for _, n := range l.versions {
		sent += n
	}
	return l.versions, sent
}
