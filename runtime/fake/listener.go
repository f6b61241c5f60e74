package fake

import (
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// drainingListener is a TCP listener that can stop without resetting the
// connections a client has already opened.
//
// When a process closes a listening socket, the kernel resets every
// connection still in its accept queue: connections whose handshake is
// complete, so that their clients' Dial has returned, but which the server
// has not accepted yet. A client that connected a moment before SIGTERM
// would see its request fail. drain takes those connections off the queue
// first and hands them to Accept after the socket is closed, so a graceful
// stop serves every connection opened before it and refuses the rest.
type drainingListener struct {
	*net.TCPListener

	mu     sync.Mutex
	queued []net.Conn // accepted by drain, not yet returned by Accept
	killed bool
}

func newDrainingListener(l *net.TCPListener) *drainingListener {
	return &drainingListener{TCPListener: l}
}

// Accept returns the next connection: from the socket while it is open,
// then those drain took off its queue, then the socket's error.
func (l *drainingListener) Accept() (net.Conn, error) {
	conn, err := l.TCPListener.Accept()
	if err == nil {
		return conn, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queued) == 0 || l.killed {
		return nil, err
	}
	conn = l.queued[0]
	l.queued = l.queued[1:]
	return conn, nil
}

// drain accepts every connection waiting in the socket's queue and then
// closes the socket, so that new connections are refused.
func (l *drainingListener) drain() {
	var queued []net.Conn
	if raw, err := l.SyscallConn(); err == nil {
		_ = raw.Control(func(fd uintptr) {
			for {
				// The socket is non-blocking: EAGAIN once the queue is empty.
				nfd, _, err := unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
				if err != nil {
					return
				}
				f := os.NewFile(uintptr(nfd), "accepted")
				conn, err := net.FileConn(f) // dups the descriptor
				f.Close()
				if err == nil {
					queued = append(queued, conn)
				}
			}
		})
	}
	l.mu.Lock()
	l.queued = append(l.queued, queued...)
	l.mu.Unlock()
	l.TCPListener.Close()
}

// kill closes the socket and resets the connections drain queued, as the
// death of the process would.
func (l *drainingListener) kill() {
	l.mu.Lock()
	l.killed = true
	queued := l.queued
	l.queued = nil
	l.mu.Unlock()
	l.TCPListener.Close()
	for _, conn := range queued {
		resetConn(conn)
	}
}

// resetConn closes conn so that its peer sees a reset, as it would when
// the process holding it died.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}
