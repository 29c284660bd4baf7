package prober

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	probing "github.com/prometheus-community/pro-bing"
	"golang.org/x/sys/unix"
)

// proBing is the pro-bing engine: one probing.Pinger per target, each with
// its own socket and goroutines. Lost probes are tracked here with one timer
// per probe, since pro-bing only counts totals.
type proBing struct {
	log  *slog.Logger
	mode Mode
	ns   *os.File    // network namespace of New's caller
	nsID unix.Stat_t // its identity

	mu     sync.Mutex
	byKey  map[string]*pbTarget
	closed bool
	wg     sync.WaitGroup
}

// pbTarget tracks the probes of one Pinger.
type pbTarget struct {
	pinger  *probing.Pinger
	obs     Observer
	timeout time.Duration

	mu      sync.Mutex
	removed bool
	states  map[int]probeState // by sequence number, the last 64 probes
}

func newProBing(opts Options) (*proBing, error) {
	// pro-bing opens its sockets later, per target: fail now if the mode is
	// not allowed, with the same advice as the shared engine.
	s, err := openSocket(false, opts.Mode, 0)
	if err != nil {
		return nil, err
	}
	s.close()
	e := &proBing{log: opts.Logger, mode: opts.Mode, byKey: map[string]*pbTarget{}}
	if e.nsID, err = netnsID(); err != nil {
		return nil, err
	}
	if e.ns, err = os.Open("/proc/thread-self/ns/net"); err != nil {
		return nil, fmt.Errorf("network namespace of the thread: %w", err)
	}
	if opts.Registerer != nil {
		opts.Logger.Debug("the pro-bing engine exports no self metrics")
	}
	return e, nil
}

// netnsID identifies the network namespace of the calling thread.
func netnsID() (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return st, fmt.Errorf("network namespace of the thread: %w", err)
	}
	return st, nil
}

func sameNetns(a, b unix.Stat_t) bool { return a.Ino == b.Ino && a.Dev == b.Dev }

// Add starts a Pinger for t; see Engine.
func (e *proBing) Add(key string, tg Target, obs Observer) error {
	tg, err := tg.normalize(24) // pro-bing's timestamp and UUID
	if err != nil {
		return fmt.Errorf("target %q: %w", key, err)
	}
	if obs == nil {
		return fmt.Errorf("target %q: nil observer", key)
	}
	p := probing.New(tg.Addr.String())
	p.SetIPAddr(&net.IPAddr{IP: tg.Addr.AsSlice(), Zone: tg.Addr.Zone()})
	p.SetPrivileged(e.mode == Privileged)
	p.Count, p.Interval, p.Size = -1, tg.Interval, tg.PayloadSize
	p.Timeout = time.Duration(math.MaxInt64)
	p.RecordRtts, p.RecordTTLs = false, false
	if tg.Source.IsValid() {
		p.Source = tg.Source.String()
	}
	pt := &pbTarget{pinger: p, obs: obs, timeout: tg.Timeout, states: map[int]probeState{}}
	p.OnSend = pt.onSend
	p.OnRecv = pt.onRecv
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("prober is closed")
	}
	if old := e.byKey[key]; old != nil {
		old.stop()
	}
	e.byKey[key] = pt
	e.wg.Add(1)
	go e.run(key, pt)
	return nil
}

func (e *proBing) run(key string, pt *pbTarget) {
	defer e.wg.Done()
	// pro-bing opens its socket in Run, on this goroutine. An unlocked
	// goroutine runs on a thread of the process's namespace; if New was
	// called from another one, run on a thread moved there, and move it back
	// afterwards (it may be the main thread, which Go cannot discard).
	if here, err := netnsID(); err != nil || !sameNetns(here, e.nsID) {
		restore, err := enterNetns(e.ns)
		if err != nil {
			pt.failed(err)
			return
		}
		defer restore()
	}
	if err := pt.pinger.Run(); err != nil {
		e.log.Warn("pinger stopped", "target", key, "err", err)
		pt.failed(err)
	}
}

// Remove stops key's Pinger; see Engine.
func (e *proBing) Remove(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if pt := e.byKey[key]; pt != nil {
		pt.stop()
		delete(e.byKey, key)
	}
}

// Close stops every Pinger and waits for them.
func (e *proBing) Close() error {
	e.mu.Lock()
	e.closed = true
	for k, pt := range e.byKey {
		pt.stop()
		delete(e.byKey, k)
	}
	e.mu.Unlock()
	e.wg.Wait()
	return e.ns.Close()
}

func (pt *pbTarget) stop() {
	pt.mu.Lock()
	pt.removed = true
	pt.mu.Unlock()
	pt.pinger.Stop()
}

func (pt *pbTarget) failed(err error) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if !pt.removed {
		pt.obs.SendFailed(err)
	}
}

func (pt *pbTarget) onSend(pkt *probing.Packet) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.removed {
		return
	}
	seq := pkt.Seq
	delete(pt.states, (seq-64)&0xffff)
	pt.states[seq] = statePending
	pt.obs.Sent(time.Now())
	time.AfterFunc(pt.timeout, func() {
		pt.mu.Lock()
		defer pt.mu.Unlock()
		if !pt.removed && pt.states[seq] == statePending {
			pt.states[seq] = stateLost
			pt.obs.Lost()
		}
	})
}

func (pt *pbTarget) onRecv(pkt *probing.Packet) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.removed {
		return
	}
	switch pt.states[pkt.Seq] {
	case statePending:
		if pkt.Rtt <= pt.timeout {
			pt.states[pkt.Seq] = stateReplied
			pt.obs.Replied(pkt.Rtt, time.Now())
			return
		}
		// The timeout's timer has not run yet (a loaded machine delays
		// it), but the reply is late all the same: lost, then late, as
		// if the timer had been on time.
		pt.obs.Lost()
		pt.states[pkt.Seq] = stateLate
		pt.obs.Late(pkt.Rtt)
	case stateLost:
		pt.states[pkt.Seq] = stateLate
		pt.obs.Late(pkt.Rtt)
	}
}

// enterNetns locks the goroutine to its thread and moves the thread into ns;
// restore moves it back and unlocks (or, if that fails, leaves it locked so
// that Go ends the thread with the goroutine).
func enterNetns(ns *os.File) (restore func(), err error) {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("network namespace of the thread: %w", err)
	}
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		home.Close()
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("enter network namespace: %w", err)
	}
	return func() {
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		home.Close()
	}, nil
}
