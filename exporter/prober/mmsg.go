package prober

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg moves at most.
const batchSize = 64

// recvBufSize holds the headers and our token; longer replies are truncated,
// which does not matter: only their first bytes are read.
const recvBufSize = 256

// oobSize has room for SCM_TIMESTAMPNS, SO_RXQ_OVFL and, with transmit
// timestamps on, SCM_TIMESTAMPING and IP_RECVERR.
const oobSize = 192

// recvBatch is the preallocated state of recvmmsg: no allocation per packet.
type recvBatch struct {
	hdrs  [batchSize]unix.Mmsghdr
	iovs  [batchSize]unix.Iovec
	names [batchSize]unix.RawSockaddrInet6
	bufs  [batchSize][recvBufSize]byte
	oob   [batchSize][oobSize / 8]uint64 // uint64 for cmsg alignment
}

func newRecvBatch() *recvBatch {
	b := new(recvBatch)
	for i := range b.hdrs {
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(recvBufSize)
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		h.Control = (*byte)(unsafe.Pointer(&b.oob[i][0]))
	}
	return b
}

// recv reads up to batchSize datagrams without blocking.
func (b *recvBatch) recv(fd uintptr) (int, unix.Errno) {
	return b.recvmmsg(fd, unix.MSG_DONTWAIT, false)
}

// recvWait blocks until at least one datagram is there (or SO_RCVTIMEO or
// shutdown), then reads up to batchSize.
func (b *recvBatch) recvWait(fd uintptr) (int, unix.Errno) {
	return b.recvmmsg(fd, unix.MSG_WAITFORONE, true)
}

func (b *recvBatch) recvmmsg(fd uintptr, flags int, blocking bool) (int, unix.Errno) {
	for i := range b.hdrs {
		b.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.hdrs[i].Hdr.SetControllen(oobSize)
		b.hdrs[i].Hdr.Flags = 0
	}
	call := unix.RawSyscall6 // cannot block: no need to tell Go's scheduler
	if blocking {
		call = unix.Syscall6
	}
	n, _, errno := call(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])),
		batchSize, uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

// packet returns datagram i's bytes and source address.
func (b *recvBatch) packet(i int) ([]byte, netip.Addr) {
	n := min(int(b.hdrs[i].Len), recvBufSize)
	data := b.bufs[i][:n]
	name := &b.names[i]
	switch name.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
		return data, netip.AddrFrom4(sa.Addr)
	case unix.AF_INET6:
		return data, netip.AddrFrom16(name.Addr).Unmap()
	}
	return data, netip.Addr{}
}

// control parses datagram i's control messages: the kernel receive time in
// Unix nanoseconds (0 if absent) and the socket's drop counter.
func (b *recvBatch) control(i int) (rxNanos int64, drops uint32, hasDrops bool) {
	n := int(b.hdrs[i].Hdr.Controllen)
	oob := unsafe.Slice((*byte)(unsafe.Pointer(&b.oob[i][0])), oobSize)[:min(n, oobSize)]
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			break
		}
		data := oob[unix.CmsgLen(0):l]
		if h.Level == unix.SOL_SOCKET {
			switch {
			case h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16:
				sec := int64(binary.NativeEndian.Uint64(data[0:8]))
				nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
				rxNanos = sec*1e9 + nsec
			case h.Type == unix.SO_RXQ_OVFL && len(data) >= 4:
				drops, hasDrops = binary.NativeEndian.Uint32(data), true
			}
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	return rxNanos, drops, hasDrops
}

// sendBatch is the preallocated state of sendmmsg.
type sendBatch struct {
	n     int
	hdrs  [batchSize]unix.Mmsghdr
	iovs  [batchSize]unix.Iovec
	names [batchSize]unix.RawSockaddrInet6
	oob   [batchSize][8]uint64 // one IP(V6)_PKTINFO control message
}

func newSendBatch() *sendBatch {
	b := new(sendBatch)
	for i := range b.hdrs {
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
	}
	return b
}

func (b *sendBatch) full() bool { return b.n == batchSize }

// add queues pkt for dst (with source address src if valid).
func (b *sendBatch) add(pkt []byte, dst, src netip.Addr) {
	i := b.n
	b.n++
	b.iovs[i].Base = &pkt[0]
	b.iovs[i].SetLen(len(pkt))
	h := &b.hdrs[i].Hdr
	name := &b.names[i]
	*name = unix.RawSockaddrInet6{}
	if dst.Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
		sa.Family = unix.AF_INET
		sa.Addr = dst.As4()
		h.Namelen = unix.SizeofSockaddrInet4
	} else {
		name.Family = unix.AF_INET6
		name.Addr = dst.As16()
		h.Namelen = unix.SizeofSockaddrInet6
	}
	h.Control = nil
	h.SetControllen(0)
	if src.IsValid() {
		h.Control = (*byte)(unsafe.Pointer(&b.oob[i][0]))
		h.SetControllen(putPktinfo(unsafe.Slice(h.Control, 64), src))
	}
}

// putPktinfo writes an IP_PKTINFO / IPV6_PKTINFO control message that sets
// the source address; it returns its length.
func putPktinfo(oob []byte, src netip.Addr) int {
	clear(oob)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	data := oob[unix.CmsgLen(0):]
	if src.Is4() {
		h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
		pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
		pi.Spec_dst = src.As4()
		return unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	}
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
	pi.Addr = src.As16()
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo)
}

// send sends queued datagrams [from, end); it returns how many went out,
// or the error of datagram from (then the caller skips it).
func (b *sendBatch) send(fd uintptr, from, end int) (int, unix.Errno) {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[from])),
			uintptr(end-from), unix.MSG_DONTWAIT, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(n), 0
	}
}
