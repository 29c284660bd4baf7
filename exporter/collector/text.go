package collector

import (
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// leText are the "le" label values of RTTBuckets as the text format writes
// them, computed once.
var leText = func() []string {
	s := make([]string, len(rttBounds))
	for i, b := range rttBounds {
		s[i] = strconv.FormatFloat(b, 'g', -1, 64)
	}
	return s
}()

// textPieces renders label pairs for the text format: name="value" each.
func textPieces(lp []*dto.LabelPair) []string {
	p := make([]string, len(lp))
	for i, l := range lp {
		p[i] = l.GetName() + `="` + escapeLabel(l.GetValue()) + `"`
	}
	return p
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func escapeLabel(v string) string { return labelEscaper.Replace(v) }

// WriteText writes the targets' metrics in the Prometheus text format
// (version 0.0.4), the same series as Gather with classic buckets only.
// With 10,000 targets Gather plus expfmt's encoder allocate about 100 MB
// per scrape; this writes from cached label strings and the atomic
// counters into one reused buffer.
func (c *Collector) WriteText(w io.Writer) error {
	c.mu.RLock()
	set := c.set
	c.mu.RUnlock()
	if len(set) == 0 {
		return nil
	}
	tw := &textWriter{w: w, buf: make([]byte, 0, 64<<10)}
	now := c.now()
	for fam := range numFamilies {
		f := families[fam]
		if c.empty(fam, set) {
			continue
		}
		tw.header(f.name, f.help, f.typ)
		for i := range set {
			if !c.omit(fam, set[i].t) {
				tw.series(fam, &set[i], now)
			}
		}
	}
	return tw.flush()
}

func anyReply(set []entry) bool {
	for i := range set {
		if set[i].t.lastReply.Load() != 0 {
			return true
		}
	}
	return false
}

// textWriter appends lines to buf and writes it out in large chunks.
type textWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (tw *textWriter) header(name, help string, typ dto.MetricType) {
	tw.buf = append(tw.buf, "# HELP "...)
	tw.buf = append(tw.buf, name...)
	tw.buf = append(tw.buf, ' ')
	tw.buf = append(tw.buf, help...)
	tw.buf = append(tw.buf, "\n# TYPE "...)
	tw.buf = append(tw.buf, name...)
	tw.buf = append(tw.buf, ' ')
	tw.buf = append(tw.buf, strings.ToLower(typ.String())...)
	tw.buf = append(tw.buf, '\n')
}

// series writes the line(s) of family fam for one target.
func (tw *textWriter) series(fam int, e *entry, now time.Time) {
	t := e.t
	name := families[fam].name
	switch fam {
	case famLastReply:
		if last := t.lastReply.Load(); last != 0 {
			tw.float(name, "", e.text, "", float64(last)/1e9)
		}
	case famLate:
		tw.uint(name, "", e.text, "", t.late.Load())
	case famRequests:
		tw.uint(name, "", e.text, "", t.requests.Load())
	case famResolveErrs:
		tw.uint(name, "", e.text, "", t.resolvErr.Load())
	case famResponses:
		tw.uint(name, "", e.text, "", t.responses.Load())
	case famSendErrs:
		tw.uint(name, "", e.text, "", t.sendErrs.Load())
	case famUp:
		up := uint64(0)
		if t.Up(now) {
			up = 1
		}
		tw.uint(name, "", e.text, "", up)
	case famInfo:
		ip, family := "", ""
		if a := t.Addr(); a.IsValid() {
			ip, family = a.String(), "ip6"
			if a.Is4() {
				family = "ip4"
			}
		}
		tw.info(name, e, ip, family)
	case famRTT:
		tw.histogram(name, e)
	}
	if len(tw.buf) > 48<<10 {
		tw.flushBuf()
	}
}

// histogram writes the classic buckets, sum and count of e's RTTs. The
// count is the +Inf bucket of the same reads, so the two always agree.
// In RTTNative mode only sum and count: the text format has no native
// buckets.
func (tw *textWriter) histogram(name string, e *entry) {
	var cum uint64
	for i := range e.t.classic {
		cum += e.t.classic[i].Load()
		if e.t.mode == RTTNative {
			continue
		}
		le := "+Inf"
		if i < len(leText) {
			le = leText[i]
		}
		tw.uint(name, "_bucket", e.text, `,le="`+le+`"`, cum)
	}
	tw.float(name, "_sum", e.text, "", math.Float64frombits(e.t.rttSum.Load()))
	tw.uint(name, "_count", e.text, "", cum)
}

// info writes ping_target_info with family and ip among e's labels in
// sorted order, as client_golang does.
func (tw *textWriter) info(name string, e *entry, ip, family string) {
	tw.buf = append(tw.buf, name...)
	tw.buf = append(tw.buf, '{')
	tw.buf = append(tw.buf, e.info[0]...)
	tw.buf = append(tw.buf, `family="`...)
	tw.buf = append(tw.buf, family...)
	tw.buf = append(tw.buf, '"')
	tw.buf = append(tw.buf, e.info[1]...)
	tw.buf = append(tw.buf, `ip="`...)
	tw.buf = append(tw.buf, ip...)
	tw.buf = append(tw.buf, '"')
	tw.buf = append(tw.buf, e.info[2]...)
	tw.buf = append(tw.buf, "} 1\n"...)
}

// infoParts splits the text labels around where "family" and "ip" go:
// before family, between family and ip, after ip, with the commas.
func infoParts(lp []*dto.LabelPair, pieces []string) [3]string {
	var parts [3][]string
	for i, l := range lp {
		switch n := l.GetName(); {
		case n < "family":
			parts[0] = append(parts[0], pieces[i])
		case n < "ip":
			parts[1] = append(parts[1], pieces[i])
		default:
			parts[2] = append(parts[2], pieces[i])
		}
	}
	var out [3]string
	if len(parts[0]) > 0 {
		out[0] = strings.Join(parts[0], ",") + ","
	}
	out[1] = ","
	if len(parts[1]) > 0 {
		out[1] = "," + strings.Join(parts[1], ",") + ","
	}
	if len(parts[2]) > 0 {
		out[2] = "," + strings.Join(parts[2], ",")
	}
	return out
}

func (tw *textWriter) start(name, suffix, labels, extra string) {
	tw.buf = append(tw.buf, name...)
	tw.buf = append(tw.buf, suffix...)
	tw.buf = append(tw.buf, '{')
	tw.buf = append(tw.buf, labels...)
	tw.buf = append(tw.buf, extra...)
	tw.buf = append(tw.buf, "} "...)
}

func (tw *textWriter) uint(name, suffix, labels, extra string, v uint64) {
	tw.start(name, suffix, labels, extra)
	tw.buf = strconv.AppendUint(tw.buf, v, 10)
	tw.buf = append(tw.buf, '\n')
}

func (tw *textWriter) float(name, suffix, labels, extra string, v float64) {
	tw.start(name, suffix, labels, extra)
	tw.buf = strconv.AppendFloat(tw.buf, v, 'g', -1, 64)
	tw.buf = append(tw.buf, '\n')
}

func (tw *textWriter) flushBuf() {
	if tw.err == nil {
		_, tw.err = tw.w.Write(tw.buf)
	}
	tw.buf = tw.buf[:0]
}

func (tw *textWriter) flush() error {
	tw.flushBuf()
	return tw.err
}
