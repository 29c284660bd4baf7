package main

import (
	"errors"
	"flag"
	"io"
	"net/netip"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr string
	}{
		{"delay only", []string{"--delay=20ms"}, options{delay: 20 * time.Millisecond, address: netip.IPv4Unspecified()}, ""},
		{"delay and address", []string{"--delay", "0s", "--address=198.18.0.11"},
			options{address: netip.MustParseAddr("198.18.0.11")}, ""},
		{"no delay", nil, options{}, `"--delay" is required and must not be negative`},
		{"negative delay", []string{"--delay=-1ms"}, options{}, `"--delay" is required and must not be negative`},
		{"IPv6 address", []string{"--delay=1ms", "--address=::1"}, options{}, `"--address" "::1": want an IPv4 address`},
		{"bad address", []string{"--delay=1ms", "--address=host"}, options{}, `"--address" "host": want an IPv4 address`},
		{"extra argument", []string{"--delay=1ms", "198.18.0.11"}, options{}, `unexpected argument "198.18.0.11"`},
		{"unknown flag", []string{"--delay=1ms", "--dealy=2ms"}, options{}, "flag provided but not defined: -dealy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := parseFlags([]string{"--help"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: got error %v, want flag.ErrHelp", err)
	}
}
