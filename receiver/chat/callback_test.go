package chat

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCallbackRoundTrip(t *testing.T) {
	k, err := NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != KeyLen {
		t.Fatalf("key %q has length %d, want %d", k, len(k), KeyLen)
	}
	for _, a := range Actions {
		c := Callback{Action: a, Key: k}
		d := c.Data()
		if len(d) > MaxCallbackData {
			t.Errorf("%s: %d bytes, more than %d", a, len(d), MaxCallbackData)
		}
		got, err := ParseCallback(d)
		if err != nil || got != c {
			t.Errorf("ParseCallback(%q) = %+v, %v; want %+v", d, got, err, c)
		}
	}
	long := Callback{Action: SilenceMorning, Key: strings.Repeat("A", maxKeyLen)}.Data()
	if len(long) > MaxCallbackData {
		t.Errorf("longest valid data is %d bytes, more than %d", len(long), MaxCallbackData)
	}
}

func TestNewKeyDeterministicReader(t *testing.T) {
	k, err := NewKey(bytes.NewReader(make([]byte, 12)))
	if err != nil || k != "AAAAAAAAAAAAAAAA" {
		t.Errorf("got %q, %v; want 16 A's", k, err)
	}
	if _, err := NewKey(bytes.NewReader(nil)); err == nil {
		t.Error("NewKey with an empty reader: nil error")
	}
}

func TestParseCallbackRejects(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		is         error
		want       string
	}{
		{"empty", "", ErrInvalid, "empty"},
		{"too long", "d1:ack:" + strings.Repeat("A", 60), ErrInvalid, "more than Telegram's 64"},
		{"other format", "silence_1h_123", ErrInvalid, "got 1 fields"},
		{"old version", "d0:ack:abc", ErrStale, `version "d0"`},
		{"old version, other shape", "d0:ack", ErrStale, `version "d0"`},
		{"foreign prefix", "xx:ack:abc", ErrStale, `version "xx"`},
		{"unknown action", "d1:del:abc", ErrInvalid, `unknown action "del"`},
		{"empty key", "d1:ack:", ErrInvalid, "key length 0"},
		{"key too long", "d1:ack:" + strings.Repeat("A", 33), ErrInvalid, "key length 33"},
		{"key with slash", "d1:ack:../../x", ErrInvalid, "key has byte 0x2e at 0"},
		{"extra field", "d1:ack:abc:def", ErrInvalid, "got 4 fields"},
		{"control byte", "d1:ack:ab\x00c", ErrInvalid, "key has byte 0x0 at 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCallback(tc.data)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}

func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{"d1:ack:AAAAAAAAAAAAAAAA", "d1:s1h:x", "d0:a", "", ":::", "d1:uns:" + strings.Repeat("-", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := ParseCallback(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrStale) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrStale", err)
			}
			if len(err.Error()) > 120 || !utf8.ValidString(err.Error()) && utf8.ValidString(data) {
				t.Fatalf("error too long or invalid: %q", err)
			}
			return
		}
		if c.Data() != data {
			t.Fatalf("accepted %q but re-encodes as %q", data, c.Data())
		}
		if len(data) > MaxCallbackData {
			t.Fatalf("accepted %d bytes", len(data))
		}
	})
}
