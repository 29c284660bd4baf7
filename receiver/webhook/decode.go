// Package webhook receives Alertmanager webhook notifications, validates
// them, plans which Telegram messages they cause (firing, reminder,
// resolved reply + edit) and queues those durably before answering 2xx.
package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
)

// MaxBodyBytes is the largest webhook body accepted (413 above). Alertmanager
// sends a few KiB per alert; 1 MiB is hundreds of alerts.
const MaxBodyBytes = 1 << 20

// Reasons for rejecting a request (label of ..._webhook_invalid_total).
const (
	ReasonTooLarge      = "too_large"
	ReasonMalformedJSON = "malformed_json"
	ReasonVersion       = "version"
	ReasonMissingField  = "missing_field"
	ReasonInvalidField  = "invalid_field"
	ReasonUnknownRoute  = "unknown_route"
	ReasonUnauthorized  = "unauthorized"
	ReasonMethod        = "method"
)

// InvalidReasons lists every rejection reason, for pre-creating metric series.
func InvalidReasons() []string {
	return []string{ReasonTooLarge, ReasonMalformedJSON, ReasonVersion, ReasonMissingField,
		ReasonInvalidField, ReasonUnknownRoute, ReasonUnauthorized, ReasonMethod}
}

// Message is Alertmanager's webhook payload (notify/webhook.Message, which
// is not imported because it pulls in most of Alertmanager).
type Message struct {
	*template.Data
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// RequestError is a client error: Code is the HTTP status, Reason the
// metric label, Msg names the problem for the JSON answer.
type RequestError struct {
	Code   int
	Reason string
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

func invalid(reason, format string, args ...any) *RequestError {
	return &RequestError{Code: 400, Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// Decode reads and validates one webhook body. All errors are *RequestError.
func Decode(r io.Reader) (*Message, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return nil, invalid(ReasonMalformedJSON, "reading body: %v", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, &RequestError{Code: 413, Reason: ReasonTooLarge,
			Msg: fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)}
	}
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return nil, invalid(ReasonMalformedJSON, "malformed JSON: %s", jsonErr(body, err))
	}
	if dec.More() {
		return nil, invalid(ReasonMalformedJSON, "malformed JSON: data after the top-level object")
	}
	if err := validate(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

// jsonErr adds the byte offset to syntax errors so the sender can find it.
func jsonErr(body []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d of %d)", err, se.Offset, len(body))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: got a JSON %s, want %s", strings.TrimPrefix(te.Field, "Data."), te.Value, te.Type)
	}
	return err.Error()
}

func validate(m *Message) error {
	if m.Version != "4" {
		return invalid(ReasonVersion, `"version" is %q, want "4" (Alertmanager webhook format)`, m.Version)
	}
	if m.Data == nil {
		return invalid(ReasonMissingField, `missing "status" and "alerts"`)
	}
	if !validStatus(m.Status) {
		return invalid(missingOr(m.Status), `"status" is %q, want "firing" or "resolved"`, m.Status)
	}
	if m.Alerts == nil {
		return invalid(ReasonMissingField, `missing "alerts"`)
	}
	for i, a := range m.Alerts {
		if err := validateAlert(i, a); err != nil {
			return err
		}
	}
	return nil
}

func validateAlert(i int, a template.Alert) error {
	switch {
	case !validStatus(a.Status):
		return invalid(missingOr(a.Status), `alerts[%d]: "status" is %q, want "firing" or "resolved"`, i, a.Status)
	case a.Fingerprint == "":
		return invalid(ReasonMissingField, `alerts[%d]: missing "fingerprint"`, i)
	case len(a.Fingerprint) > 128:
		return invalid(ReasonInvalidField, `alerts[%d]: "fingerprint" longer than 128 bytes`, i)
	case a.StartsAt.IsZero():
		return invalid(ReasonMissingField, `alerts[%d]: missing "startsAt"`, i)
	case a.StartsAt.Year() < 1970 || a.StartsAt.Year() > 9999:
		return invalid(ReasonInvalidField, `alerts[%d]: "startsAt" %s out of range`, i, a.StartsAt.Format(time.RFC3339))
	}
	return nil
}

func validStatus(s string) bool { return s == "firing" || s == "resolved" }

func missingOr(v string) string {
	if v == "" {
		return ReasonMissingField
	}
	return ReasonInvalidField
}
