package incident

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/downtime-detector/downtime/receiver/render"
)

// Format is how [Write] renders incidents.
type Format string

// The formats of `downtime_receiver incidents -o` and of the API.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatCSV   Format = "csv"
)

// ParseFormat parses "table", "json" or "csv".
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatTable, FormatJSON, FormatCSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q: want table, json or csv", s)
}

// Record is an incident as the API and the CLI export it: the stored fields
// plus its state and duration (up to now while open).
type Record struct {
	Incident
	State           State   `json:"state"`
	DurationSeconds float64 `json:"duration_seconds"`
	Duration        string  `json:"duration"`
}

// NewRecord is inc as exported at now.
func NewRecord(inc Incident, now time.Time) Record {
	d := inc.Duration(now)
	if inc.Labels == nil {
		inc.Labels = map[string]string{}
	}
	return Record{Incident: inc, State: inc.State(), DurationSeconds: d.Seconds(), Duration: render.Duration(d)}
}

// Records is incs as exported at now (never nil, so JSON gives []).
func Records(incs []Incident, now time.Time) []Record {
	out := make([]Record, 0, len(incs))
	for _, inc := range incs {
		out = append(out, NewRecord(inc, now))
	}
	return out
}

// Write renders incs to w in format f, with times in loc and durations of
// open incidents up to now.
func Write(w io.Writer, incs []Incident, f Format, now time.Time, loc *time.Location) error {
	switch f {
	case FormatJSON:
		recs := Records(incs, now)
		for i := range recs {
			recs[i].Start = recs[i].Start.In(loc)
			if !recs[i].Open() {
				recs[i].End = recs[i].End.In(loc)
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(recs)
	case FormatCSV:
		return writeCSV(w, incs, now, loc)
	case FormatTable:
		return writeTable(w, incs, now, loc)
	}
	return fmt.Errorf("unknown output format %q: want table, json or csv", f)
}

// CSVHeader is the first line of the CSV export.
var CSVHeader = []string{
	"id", "route", "target", "alertname", "state", "start", "end", "duration_seconds",
	"silenced_by", "acknowledged_by", "labels", "fingerprint",
}

func writeCSV(w io.Writer, incs []Incident, now time.Time, loc *time.Location) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, inc := range incs {
		end := ""
		if !inc.Open() {
			end = inc.End.In(loc).Format(time.RFC3339)
		}
		err := cw.Write([]string{
			strconv.FormatUint(inc.ID, 10), cell(inc.Route), cell(inc.Target), cell(inc.AlertName),
			string(inc.State()), inc.Start.In(loc).Format(time.RFC3339), end,
			strconv.FormatInt(int64(inc.Duration(now)/time.Second), 10),
			cell(inc.SilencedBy), cell(inc.AcknowledgedBy), cell(LabelText(inc.Labels)), cell(inc.Fingerprint),
		})
		if err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a value from being read as a formula by the spreadsheet an
// SLA report is opened in: labels come from whoever writes the alert rules.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// LabelText is labels as "k=v, k=v", sorted by name.
func LabelText(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ", ")
}

func writeTable(w io.Writer, incs []Incident, now time.Time, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTARGET\tALERT\tROUTE\tSTATE\tSTART\tEND\tDURATION\tBY")
	const layout = "2006-01-02 15:04:05 MST"
	for _, inc := range incs {
		end := "-"
		if !inc.Open() {
			end = inc.End.In(loc).Format(layout)
		}
		by := "-"
		switch {
		case inc.AcknowledgedBy != "" && inc.SilencedBy != "":
			by = "ack " + inc.AcknowledgedBy + ", silenced " + inc.SilencedBy
		case inc.AcknowledgedBy != "":
			by = "ack " + inc.AcknowledgedBy
		case inc.SilencedBy != "":
			by = "silenced " + inc.SilencedBy
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, oneLine(inc.Target), oneLine(inc.AlertName),
			oneLine(inc.Route), inc.State(), inc.Start.In(loc).Format(layout), end, render.Duration(inc.Duration(now)), oneLine(by))
	}
	return tw.Flush()
}

// oneLine keeps a value from breaking the table's rows and columns.
var oneLine = strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace
