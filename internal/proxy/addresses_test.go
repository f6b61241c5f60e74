package proxy_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/proxy"
)

// recordingAssigner records what the proxy assigns. At each call it dials
// the address's Service port, to see whether a listener is open there: a
// listener must open only after Add and be closed before Remove.
type recordingAssigner struct {
	port string

	mu       sync.Mutex
	calls    []string
	held     map[netip.Addr]bool
	failNext error
	badOrder []string
}

func (a *recordingAssigner) listening(ip netip.Addr) bool {
	conn, err := net.Dial("tcp", net.JoinHostPort(ip.String(), a.port))
	if err == nil {
		conn.Close()
		return true
	}
	return !errors.Is(err, syscall.ECONNREFUSED)
}

func (a *recordingAssigner) Add(ip netip.Addr) error {
	open := a.listening(ip)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.failNext; err != nil {
		a.failNext = nil
		a.calls = append(a.calls, "add "+ip.String()+" failed")
		return err
	}
	if open {
		a.badOrder = append(a.badOrder, "a listener was open on "+ip.String()+" before Add")
	}
	a.calls = append(a.calls, "add "+ip.String())
	a.held[ip] = true
	return nil
}

func (a *recordingAssigner) Remove(ip netip.Addr) error {
	open := a.listening(ip)
	a.mu.Lock()
	defer a.mu.Unlock()
	if open {
		a.badOrder = append(a.badOrder, "a listener was still open on "+ip.String()+" at Remove")
	}
	a.calls = append(a.calls, "remove "+ip.String())
	delete(a.held, ip)
	return nil
}

func (a *recordingAssigner) heldAddrs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for ip := range a.held {
		out = append(out, ip.String())
	}
	slices.Sort(out)
	return out
}

// TestAddressesAssignedAroundListeners: with an AddressAssigner, a
// Service's cluster IP is assigned before its listener opens and removed
// after it closes, when the Service goes and when Run ends; an address
// that cannot be assigned is reported and tried again.
func TestAddressesAssignedAroundListeners(t *testing.T) {
	b := newBackends(t, 1, greetEcho)
	r, _ := webService(vip(30), b)
	as := &recordingAssigner{port: "18080", held: map[netip.Addr]bool{}, failNext: errors.New("operation not permitted")}
	var mu sync.Mutex
	var warnings []string
	p := proxy.New(proxy.Config{Resolver: r, Addresses: as, Warn: func(svc *api.Service, reason, message string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, svc.Name+" "+reason+": "+message)
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	waitFor(t, "a FailedToAssignAddress warning", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(warnings) > 0
	})
	mu.Lock()
	if w := warnings[0]; !strings.Contains(w, "web FailedToAssignAddress: cannot assign cluster IP "+vip(30)) || !strings.Contains(w, "operation not permitted") {
		t.Errorf("warning %q", w)
	}
	mu.Unlock()

	// Any change makes the proxy try again; now the address is assigned,
	// then served.
	r.SetService(service("api", vip(31), api.ServicePort{Port: 18080}))
	conn := dialWhenListening(t, vip(30)+":18080")
	if got := readLine(t, conn); got != b.addrs[0] {
		t.Errorf("reached %q, want %q", got, b.addrs[0])
	}
	conn.Close()
	waitFor(t, "both addresses held", func() bool { return len(as.heldAddrs()) == 2 })

	r.DeleteService("default", "api")
	waitFor(t, "the deleted Service's address removed", func() bool { return slices.Equal(as.heldAddrs(), []string{vip(30)}) })

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	done <- nil // for the deferred wait
	if held := as.heldAddrs(); len(held) != 0 {
		t.Errorf("addresses still held after Run ended: %v", held)
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if len(as.badOrder) != 0 {
		t.Errorf("listeners and addresses out of order: %v (calls %v)", as.badOrder, as.calls)
	}
	want := []string{"add " + vip(30) + " failed", "add " + vip(30), "add " + vip(31), "remove " + vip(31), "remove " + vip(30)}
	got := as.calls
	// The retry of vip(30) and the add of vip(31) happen in one sync, in
	// map order.
	if len(got) != len(want) || got[0] != want[0] || got[3] != want[3] || got[4] != want[4] ||
		!slices.Contains(got[1:3], want[1]) || !slices.Contains(got[1:3], want[2]) {
		t.Errorf("calls %v, want %v (the middle two in either order)", got, want)
	}
}
