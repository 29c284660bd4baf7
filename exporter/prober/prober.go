// Package prober sends ICMP echo requests to many targets continuously and
// reports each probe's fate to an Observer.
//
// Two engines implement Engine:
//
//   - "shared" (default): one socket per address family shared by every
//     target, one scheduler goroutine that spreads each target's probes evenly
//     over its interval, one receiver goroutine per socket that reads replies
//     in batches (recvmmsg) with kernel receive timestamps (SO_TIMESTAMPNS).
//     Its cost grows linearly with the number of targets.
//   - "pro-bing": one github.com/prometheus-community/pro-bing Pinger per
//     target (its own socket and goroutines). Kept as a reference point.
//
// Every probe that an engine reports as Sent ends in exactly one of Replied,
// Lost or SendFailed; a probe reported Lost may later be reported Late once
// (its reply arrived after the timeout). After Remove(key) returns, the
// target's Observer is not called again.
package prober

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Mode selects the kind of ICMP socket.
type Mode int

const (
	// Privileged uses raw ICMP sockets (root or CAP_NET_RAW) with a kernel
	// (BPF) filter that passes only echo replies carrying the engine's ICMP id.
	Privileged Mode = iota
	// Unprivileged uses ICMP datagram ("ping") sockets: no capability needed,
	// but the process's group must be inside net.ipv4.ping_group_range.
	Unprivileged
)

func (m Mode) String() string {
	switch m {
	case Privileged:
		return "privileged"
	case Unprivileged:
		return "unprivileged"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Engine names for Options.Engine.
const (
	EngineShared  = "shared"
	EngineProBing = "pro-bing"
)

// Options configure an Engine.
type Options struct {
	Mode       Mode
	Engine     string // "shared" (default when empty) or "pro-bing"
	Logger     *slog.Logger
	Registerer prometheus.Registerer // self metrics; nil = none
	// ReceiveBuffer is the shared engine's socket receive buffer in bytes;
	// 0 sizes it from the total probe rate (socket.go).
	ReceiveBuffer int
}

// Target is one host to probe.
type Target struct {
	Addr   netip.Addr
	Source netip.Addr // zero = chosen by the kernel
	// Interval between probes (0 = 1s) and how long to wait for a reply
	// before reporting Lost (0 = Interval). Timeout may exceed Interval.
	Interval, Timeout time.Duration
	// PayloadSize is the ICMP payload in bytes (0 = 56, as ping(8)). The
	// shared engine needs at least 8 bytes (it carries its matching token
	// there) and pads smaller sizes to 8; pro-bing needs 24.
	PayloadSize int
}

// Observer receives the fate of each probe. It is called from the engine's
// goroutines, one call at a time per target; it must be fast and never block.
type Observer interface {
	Sent(at time.Time)
	Replied(rtt time.Duration, at time.Time) // reply within Timeout
	Late(rtt time.Duration)                  // reply after Timeout (already reported Lost)
	Lost()                                   // Timeout passed without reply
	SendFailed(err error)
}

// Engine probes a changing set of targets, each identified by a key.
type Engine interface {
	// Add starts probing t. Adding an existing key replaces that target (its
	// probes in flight are forgotten without being reported).
	Add(key string, t Target, obs Observer) error
	// Remove stops probing key; unknown keys are ignored.
	Remove(key string)
	// Close stops all probing and releases the sockets.
	Close() error
}

// Defaults applied to zero Target fields.
const (
	DefaultInterval    = time.Second
	DefaultPayloadSize = 56
	// MaxPayloadSize keeps echo requests within one IPv4 datagram.
	MaxPayloadSize = 65507 - 8
)

// New opens the sockets for opts.Mode now, in the calling thread's network
// namespace. If the mode is not allowed, the error says how to allow it.
func New(opts Options) (Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Mode != Privileged && opts.Mode != Unprivileged {
		return nil, fmt.Errorf("unknown prober mode %d", int(opts.Mode))
	}
	switch opts.Engine {
	case "", EngineShared:
		return newShared(opts)
	case EngineProBing:
		return newProBing(opts)
	}
	return nil, fmt.Errorf("unknown prober engine %q (want %q or %q)", opts.Engine, EngineShared, EngineProBing)
}

// normalize applies defaults and validates t.
func (t Target) normalize(minPayload int) (Target, error) {
	t.Addr = t.Addr.Unmap()
	t.Source = t.Source.Unmap()
	if !t.Addr.IsValid() {
		return t, errors.New("target has no address")
	}
	if t.Source.IsValid() && t.Source.Is4() != t.Addr.Is4() {
		return t, fmt.Errorf("source address %s and target %s are of different IP families", t.Source, t.Addr)
	}
	if t.Interval == 0 {
		t.Interval = DefaultInterval
	}
	if t.Timeout == 0 {
		t.Timeout = t.Interval
	}
	if t.Interval < 0 || t.Timeout < 0 {
		return t, fmt.Errorf("negative interval (%s) or timeout (%s)", t.Interval, t.Timeout)
	}
	if t.PayloadSize == 0 {
		t.PayloadSize = DefaultPayloadSize
	}
	if t.PayloadSize < 0 || t.PayloadSize > MaxPayloadSize {
		return t, fmt.Errorf("payload size %d out of range [0, %d]", t.PayloadSize, MaxPayloadSize)
	}
	if t.PayloadSize < minPayload {
		t.PayloadSize = minPayload
	}
	return t, nil
}
