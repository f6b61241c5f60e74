package fake

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
)

// listenQueued returns a listener on a loopback port with n connections
// that clients have opened and it has not accepted yet.
func listenQueued(t *testing.T, n int) (*drainingListener, []net.Conn) {
	t.Helper()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newDrainingListener(tl.(*net.TCPListener))
	t.Cleanup(l.kill)
	var clients []net.Conn
	for range n {
		c, err := net.Dial("tcp", l.Addr().String()) // returns once the handshake is done
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}
	return l, clients
}

func TestDrainAcceptsQueuedConnectionsAndRefusesNew(t *testing.T) {
	l, clients := listenQueued(t, 3)
	addr := l.Addr().String()
	l.drain()
	if _, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial after drain = %v, want connection refused", err)
	}
	for i, client := range clients {
		server, err := l.Accept()
		if err != nil {
			t.Fatalf("Accept %d after drain: %v, want the queued connection", i, err)
		}
		if _, err := io.WriteString(client, "x"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(server, buf); err != nil || buf[0] != 'x' {
			t.Fatalf("read on queued connection %d: %q, %v", i, buf, err)
		}
		server.Close()
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept once the queue is empty = %v, want net.ErrClosed", err)
	}
}

func TestKillResetsQueuedConnections(t *testing.T) {
	l, clients := listenQueued(t, 2)
	l.drain()
	l.kill()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after kill = %v, want net.ErrClosed", err)
	}
	for i, client := range clients {
		if _, err := client.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read on queued connection %d after kill = %v, want connection reset", i, err)
		}
	}
}
