package chat

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Action is what a button press asks for.
type Action string

// The actions. Codes are three bytes so that callback_data stays far below
// Telegram's 64-byte limit whatever the key.
const (
	SilenceHour    Action = "s1h" // silence for one hour
	SilenceMorning Action = "smo" // silence until tomorrow morning (or 24 h)
	Ack            Action = "ack" // acknowledge: stop reminders, keep the recovery
	Unsilence      Action = "uns" // expire the silence made from this message or /silences
	Unack          Action = "una" // undo the acknowledgement
)

// Actions lists every action, for metrics initialisation.
var Actions = []Action{SilenceHour, SilenceMorning, Ack, Unsilence, Unack}

func (a Action) valid() bool {
	for _, b := range Actions {
		if a == b {
			return true
		}
	}
	return false
}

// MaxCallbackData is Telegram's limit on callback_data, in bytes.
const MaxCallbackData = 64

// callbackPrefix marks our buttons and their format version; a change of
// format changes it, so that old buttons are refused as stale rather than
// misread.
const callbackPrefix = "d1"

// KeyLen is the length of a key from NewKey: 12 random bytes, base64url.
const KeyLen = 16

// maxKeyLen bounds keys on parse; longer ones are forged.
const maxKeyLen = 32

// Callback is a parsed callback_data: the action and the key under which the
// store keeps what it applies to (chat, message, route, alert, silence id).
type Callback struct {
	Action Action
	Key    string
}

// Data encodes c as callback_data: "d1:<action>:<key>".
func (c Callback) Data() string { return callbackPrefix + ":" + string(c.Action) + ":" + c.Key }

// NewKey returns a random key from r (crypto/rand.Reader when nil). Keys are
// random rather than sequential so that a forged callback cannot guess a
// neighbour's.
func NewKey(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 12)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("callback key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Errors of ParseCallback. ErrStale is a button of an older format or of
// another bot; ErrInvalid anything else that is not ours.
var (
	ErrInvalid = errors.New("invalid button data")
	ErrStale   = errors.New("button from an older version; use /status")
)

// ParseCallback validates untrusted callback_data. Every error wraps
// ErrInvalid or ErrStale and says what is wrong, without echoing more than
// a short, quoted prefix of the input.
func ParseCallback(data string) (Callback, error) {
	switch {
	case data == "":
		return Callback{}, fmt.Errorf("%w: empty", ErrInvalid)
	case len(data) > MaxCallbackData:
		return Callback{}, fmt.Errorf("%w: %d bytes, more than Telegram's %d", ErrInvalid, len(data), MaxCallbackData)
	}
	parts := strings.Split(data, ":")
	if len(parts) != 3 {
		if len(parts) > 0 && strings.HasPrefix(parts[0], "d") && parts[0] != callbackPrefix {
			return Callback{}, fmt.Errorf("%w: version %q", ErrStale, clip(parts[0]))
		}
		return Callback{}, fmt.Errorf("%w: want %s:<action>:<key>, got %d fields", ErrInvalid, callbackPrefix, len(parts))
	}
	if parts[0] != callbackPrefix {
		return Callback{}, fmt.Errorf("%w: version %q", ErrStale, clip(parts[0]))
	}
	c := Callback{Action: Action(parts[1]), Key: parts[2]}
	if !c.Action.valid() {
		return Callback{}, fmt.Errorf("%w: unknown action %q", ErrInvalid, clip(parts[1]))
	}
	if err := checkKey(c.Key); err != nil {
		return Callback{}, err
	}
	return c, nil
}

func checkKey(k string) error {
	if k == "" || len(k) > maxKeyLen {
		return fmt.Errorf("%w: key length %d, want 1 to %d", ErrInvalid, len(k), maxKeyLen)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: key has byte %#x at %d; want base64url", ErrInvalid, c, i)
		}
	}
	return nil
}

// clip shortens untrusted text for an error message.
func clip(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
