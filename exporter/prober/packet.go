package prober

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Echo request layout (after the 8-byte ICMP header): the target's slot
// index and generation (4 bytes each, big endian), so a reply finds its
// target in O(1) even when several targets share one address, then a fill
// pattern up to the payload size.
const (
	icmpHeaderLen = 8
	tokenLen      = 8
	echoRequest4  = 8
	echoReply4    = 0
	echoRequest6  = 128
	echoReply6    = 129
)

// newEchoRequest builds the packet template of one target.
func newEchoRequest(v6 bool, id uint16, slot, gen uint32, payload int) []byte {
	b := make([]byte, icmpHeaderLen+payload)
	b[0] = echoRequest4
	if v6 {
		b[0] = echoRequest6
	}
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint32(b[8:], slot)
	binary.BigEndian.PutUint32(b[12:], gen)
	for i := icmpHeaderLen + tokenLen; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

// setSeq stamps seq into a template and, for IPv4, the checksum (the kernel
// computes ICMPv6 checksums and those of datagram sockets itself).
func setSeq(b []byte, seq uint16, v4raw bool) {
	binary.BigEndian.PutUint16(b[6:], seq)
	if !v4raw {
		return
	}
	b[2], b[3] = 0, 0
	binary.BigEndian.PutUint16(b[2:], checksum(b))
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// echoReply is what the receiver needs from a reply.
type echoReply struct {
	id, seq   uint16
	slot, gen uint32
}

// parseReply decodes an echo reply; raw IPv4 sockets deliver the IP header
// first (ipHeader true).
func parseReply(b []byte, v6, ipHeader bool) (echoReply, bool) {
	if ipHeader {
		if len(b) < 20 {
			return echoReply{}, false
		}
		hl := int(b[0]&0x0f) * 4
		if hl < 20 || len(b) < hl {
			return echoReply{}, false
		}
		b = b[hl:]
	}
	typ := byte(echoReply4)
	if v6 {
		typ = echoReply6
	}
	return parseEcho(b, typ)
}

// parseEcho decodes an ICMP echo message of type typ carrying our token.
func parseEcho(b []byte, typ byte) (echoReply, bool) {
	if len(b) < icmpHeaderLen+tokenLen || b[0] != typ || b[1] != 0 {
		return echoReply{}, false
	}
	return echoReply{
		id:   binary.BigEndian.Uint16(b[4:]),
		seq:  binary.BigEndian.Uint16(b[6:]),
		slot: binary.BigEndian.Uint32(b[8:]),
		gen:  binary.BigEndian.Uint32(b[12:]),
	}, true
}

// maxLinkHeader bounds where parseSent looks for the IP header.
const maxLinkHeader = 64

// parseSent decodes one of our echo requests as the kernel returns it with
// its transmit timestamp (the error queue, see stamps.go): the packet as the
// device sent it, after a link-layer header whose length depends on the
// device (14 bytes on loopback and Ethernet, none on a tunnel). The IP
// header is found by its shape: version, our protocol and, right after it,
// an echo request carrying id. We never send IP options or IPv6 extension
// headers.
func parseSent(b []byte, v6 bool, id uint16) (echoReply, bool) {
	for off := 0; off <= maxLinkHeader && off < len(b); off++ {
		ip := b[off:]
		var icmp []byte
		var typ byte
		switch {
		case !v6 && len(ip) >= 20 && ip[0] == 0x45 && ip[9] == unix.IPPROTO_ICMP:
			icmp, typ = ip[20:], echoRequest4
		case v6 && len(ip) >= 40 && ip[0]>>4 == 6 && ip[6] == unix.IPPROTO_ICMPV6:
			icmp, typ = ip[40:], echoRequest6
		default:
			continue
		}
		if r, ok := parseEcho(icmp, typ); ok && r.id == id {
			return r, true
		}
	}
	return echoReply{}, false
}
