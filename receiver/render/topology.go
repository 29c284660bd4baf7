package render

import (
	"strconv"
	"strings"

	amtemplate "github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
)

// Alert names and annotations of the topology rules (rules/README.md, "One
// cause, one message"): a dead parent, a cut-off prober, vantage points.
const (
	// CutOffAlert is the alertname of a prober that reaches none of its
	// hosts; its messages name the prober, not a host.
	CutOffAlert = "ProberCutOff"
	// PathDownAlert is the alertname of a host unreachable from some
	// vantage points only: a path problem, worded so, never "is down".
	PathDownAlert = "HostPathDown"
	// BehindKey is HostDown's annotation counting the hosts behind it that
	// are unreachable too (decimal, "0" when none).
	BehindKey = "unreachable_behind"
	// BehindHostsKey lists those hosts, comma-separated. The rules do not
	// set it: the receiver does, from Alertmanager's
	// HostUnreachableBehindParent alerts (receiver/behind), and edits the
	// firing message when the list changes.
	BehindHostsKey = "unreachable_behind_hosts"
	// VantagesDownKey lists the vantage points that see the host down,
	// sorted and comma-separated; VantagesTotalKey is how many judge.
	VantagesDownKey  = "vantages_down"
	VantagesTotalKey = "vantages_total"
	// HostsKey is ProberCutOff's number of hosts of the prober.
	HostsKey = "hosts"
)

// maxBehindNames is how many hosts behind a parent a message names; the
// others are counted ("and 12 more").
const maxBehindNames = 20

// Topology is what the topology rules say about an alert, for the
// templates. Names are HTML-escaped.
type Topology struct {
	// Icon heads firing and reminder messages: 🔴, ⚠️ for a cut-off
	// prober, 🟠 for a path problem.
	Icon string
	// Behind is how many hosts behind this one are unreachable too
	// (BehindKey, or the length of BehindHosts when known).
	Behind int
	// BehindHosts are their names when the receiver knows them, else nil.
	BehindHosts []string
	// BehindText is "3 hosts behind it are unreachable too: a, b, c" (the
	// list when known, else the count); empty when Behind is 0.
	BehindText string
	// CutOff is true for ProberCutOff: the prober's own network is down.
	CutOff bool
	// Hosts is the number of hosts of a cut-off prober, "" if unknown.
	Hosts string
	// PathDown is true for HostPathDown: unreachable from some vantages.
	PathDown bool
	// Vantages lists the vantages that see the host down ("ams and fra"),
	// empty for an alert without vantages; VantagesDown and VantagesTotal
	// are the counts (0 when unknown).
	Vantages                    string
	VantagesDown, VantagesTotal int
}

// topology reads the topology annotations of a. esc escapes (and cuts) a
// value taken from the alert.
func topology(a amtemplate.Alert, esc func(string) string) Topology {
	name := a.Labels[model.AlertNameLabel]
	t := Topology{Icon: "🔴", CutOff: name == CutOffAlert, PathDown: name == PathDownAlert}
	switch {
	case t.CutOff:
		t.Icon = "⚠️"
		if n, err := strconv.Atoi(strings.TrimSpace(a.Annotations[HostsKey])); err == nil && n > 0 {
			t.Hosts = strconv.Itoa(n)
		}
	case t.PathDown:
		t.Icon = "🟠"
	}
	if vs := list(a.Annotations[VantagesDownKey]); len(vs) > 0 {
		for i := range vs {
			vs[i] = esc(vs[i])
		}
		t.Vantages = and(vs)
		t.VantagesDown = len(vs)
		if n, err := strconv.Atoi(strings.TrimSpace(a.Annotations[VantagesTotalKey])); err == nil && n >= len(vs) {
			t.VantagesTotal = n
		}
	}
	if name != DownAlert {
		return t
	}
	if n, err := strconv.Atoi(strings.TrimSpace(a.Annotations[BehindKey])); err == nil && n > 0 {
		t.Behind = n
	}
	if _, known := a.Annotations[BehindHostsKey]; known {
		hosts := list(a.Annotations[BehindHostsKey])
		t.Behind = len(hosts)
		for _, h := range hosts {
			t.BehindHosts = append(t.BehindHosts, esc(h))
		}
	}
	t.BehindText = behindText(t.Behind, t.BehindHosts)
	return t
}

// behindText words the hosts behind a down parent.
func behindText(n int, hosts []string) string {
	if n <= 0 {
		return ""
	}
	s := strconv.Itoa(n) + " hosts behind it are unreachable too"
	if n == 1 {
		s = "1 host behind it is unreachable too"
	}
	if len(hosts) == 0 {
		return s
	}
	names := hosts
	if len(names) > maxBehindNames {
		names = names[:maxBehindNames]
	}
	s += ": " + strings.Join(names, ", ")
	if more := len(hosts) - len(names); more > 0 {
		s += " and " + strconv.Itoa(more) + " more"
	}
	return s
}

// list splits a comma-separated annotation, dropping empty items.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// and joins names as a sentence: "ams", "ams and fra", "ams, fra and lon".
func and(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
