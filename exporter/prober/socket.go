package prober

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// icmpSocket is one ICMP socket. It is blocking and not registered with
// Go's poller on purpose: a registered socket wakes the poller's thread for
// every arriving reply even when nobody waits for it, which is exactly the
// case when the scheduler reads the replies (see recv.go). Sends and the
// scheduler's reads pass MSG_DONTWAIT; the receiver goroutine blocks.
type icmpSocket struct {
	v6  bool
	raw bool    // raw socket (IPv4: replies start with the IP header)
	id  uint16  // ICMP id our echo requests carry (replies carry it back)
	fd  uintptr // valid until close (the scheduler and receivers stop first)
	// drops is the kernel's count of replies dropped on a full receive
	// queue, as last reported by SO_RXQ_OVFL.
	drops atomic.Uint32
	// poll: its receiver polls it, the scheduler does not read it (recv.go).
	poll atomic.Bool
	// stamped: transmit timestamps are on and sends are batched; noStamps:
	// the kernel refused or never sent them (stamps.go).
	stamped, noStamps         atomic.Bool
	stampedReplies, unstamped atomic.Int64
}

// openSocket opens the ICMP socket of one family for mode. For raw sockets id
// is the ICMP id to filter on; datagram sockets get theirs from the kernel
// (the local port).
func openSocket(v6 bool, mode Mode, id uint16) (*icmpSocket, error) {
	domain, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		domain, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	typ := unix.SOCK_RAW
	if mode == Unprivileged {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, modeError(v6, mode, err)
	}
	s := &icmpSocket{v6: v6, raw: mode == Privileged, id: id, fd: uintptr(fd)}
	if err := s.setup(fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return s, nil
}

func (s *icmpSocket) setup(fd int) error {
	for _, o := range []struct {
		name     string
		opt, val int
	}{
		{"SO_TIMESTAMPNS", unix.SO_TIMESTAMPNS, 1}, // kernel receive time of each reply
		{"SO_RXQ_OVFL", unix.SO_RXQ_OVFL, 1},       // receive-queue drop counter
	} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o.opt, o.val); err != nil {
			return fmt.Errorf("icmp socket: setsockopt %s: %w", o.name, err)
		}
	}
	// A blocked receiver looks at the engine's state at least this often,
	// should shutdown not wake it.
	tv := unix.NsecToTimeval(int64(500 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("icmp socket: setsockopt SO_RCVTIMEO: %w", err)
	}
	// The engine sizes it from the rate (or Options.ReceiveBuffer) later.
	if _, err := s.setReceiveBuffer(minReceiveBuffer); err != nil {
		return err
	}
	if s.raw {
		return attachFilter(fd, s.v6, s.id)
	}
	var sa unix.Sockaddr = &unix.SockaddrInet4{}
	if s.v6 {
		sa = &unix.SockaddrInet6{}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("icmp datagram socket: bind: %w", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("icmp datagram socket: getsockname: %w", err)
	}
	switch a := got.(type) {
	case *unix.SockaddrInet4:
		s.id = uint16(a.Port)
	case *unix.SockaddrInet6:
		s.id = uint16(a.Port)
	}
	return nil
}

// The receive buffer holds the replies that arrive while nobody reads: the
// scheduler between its drains (busy mode, recv.go), or a receiver that is
// descheduled. Unless set (Options.ReceiveBuffer), the engine asks for
// enough for receiveBufferSeconds of replies at the total probe rate at
// replyTruesize bytes each (the kernel's accounting of one queued echo
// reply, headers and buffer included: 832 bytes for the default 56-byte
// payload on loopback, from /proc/net/raw's rx_queue; more for bigger
// payloads), at least
// minReceiveBuffer and at most maxReceiveBuffer; the kernel grants twice
// what is asked, for its own bookkeeping, a margin of 2x. At 100,000
// probes/s the 4 MiB that used to be fixed held well under 0.1 s of
// replies: one slow scheduler pass, and the kernel dropped millions
// (issue 14).
const (
	minReceiveBuffer     = 4 << 20
	maxReceiveBuffer     = 512 << 20
	replyTruesize        = 1280
	receiveBufferSeconds = 0.5
)

// receiveBufferFor returns the receive buffer for a total probe rate.
func receiveBufferFor(rate float64) int {
	return int(min(max(rate*replyTruesize*receiveBufferSeconds, minReceiveBuffer), maxReceiveBuffer))
}

// setReceiveBuffer asks for a receive buffer of n bytes and returns what the
// kernel granted (SO_RCVBUF, which counts the kernel's overhead: twice the
// request). SO_RCVBUFFORCE needs CAP_NET_ADMIN; the plain SO_RCVBUF is
// capped by net.core.rmem_max.
func (s *icmpSocket) setReceiveBuffer(n int) (int, error) {
	fd := int(s.fd)
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n); err != nil {
			return 0, fmt.Errorf("icmp socket: setsockopt SO_RCVBUF: %w", err)
		}
	}
	got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return 0, fmt.Errorf("icmp socket: getsockopt SO_RCVBUF: %w", err)
	}
	return got, nil
}

// attachFilter installs a classic BPF program on a raw socket so that only
// echo replies carrying our id are queued to it. Without it every raw ICMP
// socket receives every ICMP packet of the namespace (our own echo requests
// included, on loopback).
func attachFilter(fd int, v6 bool, id uint16) error {
	var prog []bpf.Instruction
	if v6 { // raw ICMPv6 sockets see the ICMPv6 header at offset 0
		prog = []bpf.Instruction{
			bpf.LoadAbsolute{Off: 0, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 129, SkipFalse: 3}, // echo reply
			bpf.LoadAbsolute{Off: 4, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
			bpf.RetConstant{Val: 0xffff},
			bpf.RetConstant{Val: 0},
		}
	} else { // raw IPv4 sockets see the IP header first
		prog = []bpf.Instruction{
			bpf.LoadMemShift{Off: 0}, // X = IP header length
			bpf.LoadIndirect{Off: 0, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipFalse: 3}, // echo reply
			bpf.LoadIndirect{Off: 4, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(id), SkipFalse: 1},
			bpf.RetConstant{Val: 0xffff},
			bpf.RetConstant{Val: 0},
		}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("icmp socket: assemble filter: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("icmp socket: attach filter: %w", err)
	}
	return nil
}

// shutdown wakes a receiver blocked on the socket. Unconnected datagram
// sockets report ENOTCONN but are shut down all the same.
func (s *icmpSocket) shutdown() { _ = unix.Shutdown(int(s.fd), unix.SHUT_RDWR) }

func (s *icmpSocket) close() error { return unix.Close(int(s.fd)) }

// modeErr is a socket refused by the kernel for lack of permission.
type modeErr struct {
	msg string
	err error
}

func (e *modeErr) Error() string { return e.msg }
func (e *modeErr) Unwrap() error { return e.err }

// modeError explains how to allow a mode whose socket the kernel refused.
func modeError(v6 bool, mode Mode, err error) error {
	fam := "IPv4"
	if v6 {
		fam = "IPv6"
	}
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		return fmt.Errorf("cannot open %s %s ICMP socket: %w", mode, fam, err)
	}
	if mode == Privileged {
		bin, _ := os.Executable()
		if bin == "" {
			bin = "BINARY"
		}
		return &modeErr{err: err, msg: fmt.Sprintf("cannot open privileged (raw) %s ICMP socket: %v: run as root, "+
			"or grant the capability with `setcap cap_net_raw+ep %s`, "+
			"or use unprivileged ICMP datagram sockets (--no-ping.privileged)", fam, err, bin)}
	}
	rng := "unknown"
	if b, rerr := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); rerr == nil {
		rng = strings.Join(strings.Fields(string(b)), " ")
	}
	return &modeErr{err: err, msg: fmt.Sprintf("cannot open unprivileged %s ICMP datagram socket: %v: "+
		"group id %d is not inside net.ipv4.ping_group_range (now %q); allow it with "+
		"`sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`, or run privileged "+
		"(--ping.privileged) as root or with `setcap cap_net_raw+ep`", fam, err, os.Getgid(), rng)}
}
