// Package webtest holds the raw-connection helpers that the exporter's and
// the receiver's server tests share: slow, half-sent and idle clients
// against a real listener, and whether the server closed them.
package webtest

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Dial opens a raw TCP connection to a server at url (http://host:port),
// closed at the end of the test.
func Dial(t testing.TB, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ClosedByServer reports whether the server closed c within wait (what
// its read, header and idle timeouts are for).
func ClosedByServer(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}
