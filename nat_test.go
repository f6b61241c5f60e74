package baton_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/testutil"
	"github.com/batonhq/baton/runtime/fake"
)

// natTables names each test's nftables table, so that tests running at
// once, and test binaries of several runs, never share one.
var natTables atomic.Int32

// newNATHarness is newServicesHarness with WithServiceNAT, on a table of
// its own, whose name it returns. When the test ends (after Run has
// returned) it checks that the table is gone, and deletes it if not, so
// that no rule is left on the host.
func newNATHarness(t *testing.T) (*servicesHarness, string) {
	t.Helper()
	needRoot(t)
	table := fmt.Sprintf("baton-test-%d-%d", os.Getpid(), natTables.Add(1))
	t.Cleanup(func() { // runs after the harness's own cleanup has stopped Run
		if slices.Contains(natTableNames(t), table) {
			t.Errorf("nftables table %s is still there after Run returned; deleting it", table)
			c, err := nftables.New()
			if err == nil {
				c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: table})
				err = c.Flush()
			}
			if err != nil {
				t.Errorf("delete table %s: %v", table, err)
			}
		}
	})
	return newServicesHarness(t, baton.WithServiceNAT(table)), table
}

// waitNATRules waits until table translates its first Service port to n
// endpoints: the port's chain holds the marking rule and one DNAT rule
// per endpoint.
func waitNATRules(t *testing.T, table string, n int) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}
	testutil.Eventually(t, fmt.Sprintf("table %s translates to %d endpoints", table, n), waitTimeout, time.Millisecond, func() (bool, string) {
		rules, err := c.GetRules(tb, &nftables.Chain{Name: "port-0", Table: tb})
		return err == nil && len(rules) == n+1, fmt.Sprintf("%d rules, %v", len(rules), err)
	})
}

func natTableNames(t *testing.T) []string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	return names
}

// TestServiceNATCarriesConnectionsInKernel: with WithServiceNAT, a
// connection to a cluster IP reaches a Pod with the client's own address
// and port, which only the kernel's translation preserves (through the
// userspace proxy the Pod would see the proxy's connection), and both
// Pods are reached.
func TestServiceNATCarriesConnectionsInKernel(t *testing.T) {
	h, _ := newNATHarness(t)
	h.rt.SetBehavior(fake.ByImage("whoami:1"), fake.Behavior{Serve: []fake.Server{fake.HTTP(8080,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
			fmt.Fprintf(w, "%s %s", r.RemoteAddr, local)
		}))}})
	ctx := ctxFor(t)
	d := webDeployment(2, "v1")
	d.Spec.Template.Spec.Containers[0].Image = "whoami:1"
	if _, err := h.o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := h.o.Services("default").Create(ctx, webService("")); err != nil {
		t.Fatal(err)
	}
	svc := waitReadyEndpoints(t, h.o, "web", 2)
	service := net.JoinHostPort(svc.Spec.ClusterIP, "80")

	// ask returns the address the Pod saw the connection come from, the
	// connection's own local address, and the Pod's address.
	ask := func() (seen, own, pod string, err error) {
		c, err := net.DialTimeout("tcp", service, waitTimeout)
		if err != nil {
			return "", "", "", err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(waitTimeout))
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: web\r\n\r\n"); err != nil {
			return "", "", "", err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "", "", "", err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen, pod, _ = strings.Cut(string(body), " ")
		return seen, c.LocalAddr().String(), pod, err
	}
	testutil.Eventually(t, "the kernel translates connections to "+service, waitTimeout, time.Millisecond, func() (bool, string) {
		seen, own, _, err := ask()
		return err == nil && seen == own, fmt.Sprintf("the Pod saw %s, the client was %s (%v)", seen, own, err)
	})
	pods := map[string]int{}
	for range 100 {
		seen, own, pod, err := ask()
		if err != nil {
			t.Fatal(err)
		}
		if seen != own {
			t.Fatalf("the Pod saw the connection from %s, not from the client %s: it went through the userspace proxy", seen, own)
		}
		pods[pod]++
	}
	// Each Pod is picked with probability 1/2: 100 tries give each at
	// least 25 unless something is badly off (p < 1e-6).
	if len(pods) != 2 {
		t.Errorf("connections per Pod %v, want both Pods", pods)
	}
	for pod, n := range pods {
		if n < 25 {
			t.Errorf("Pod %s got %d of 100 connections, want about 50 (%v)", pod, n, pods)
		}
	}
}

// TestZeroFailedRequestsDuringRolloutWithServiceNAT is
// TestZeroFailedRequestsDuringRollout with the kernel carrying the cluster
// IP's connections: the requests are counted once the kernel translates
// them (TestServiceNATCarriesConnectionsInKernel shows that a translated
// connection bypasses the proxy).
func TestZeroFailedRequestsDuringRolloutWithServiceNAT(t *testing.T) {
	h, table := newNATHarness(t)
	zeroFailedRequestsDuringRollout(t, h, func(*baton.Service) { waitNATRules(t, table, 3) })
}
