package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestStorageFlags(t *testing.T) {
	const pgURL = "postgres://rx:s3cret@db.example:5432/downtime"
	for _, tc := range []struct {
		name    string
		args    []string
		env     string
		wantErr string
		wantURL string
		ttl     time.Duration
	}{
		{name: "bbolt by default", ttl: 10 * time.Second},
		{name: "url", args: []string{"--storage.url=" + pgURL}, wantURL: pgURL, ttl: 10 * time.Second},
		{name: "url from the environment", env: pgURL, wantURL: pgURL, ttl: 10 * time.Second},
		{name: "lease timing", args: []string{"--storage.url=" + pgURL, "--storage.lease-ttl=20s", "--storage.lease-renew=5s"},
			wantURL: pgURL, ttl: 20 * time.Second},
		{name: "both stores", args: []string{"--storage.url=" + pgURL, "--storage.path=data/"},
			wantErr: "--storage.path and --storage.url exclude each other"},
		{name: "not postgres", args: []string{"--storage.url=mysql://rx:s3cret@db.example/downtime"},
			wantErr: `--storage.url "mysql://rx:xxxxx@db.example/downtime": want postgres://`},
		{name: "renew too slow", args: []string{"--storage.url=" + pgURL, "--storage.lease-renew=6s"},
			wantErr: "--storage.lease-renew (6s) must be positive and at most half of --storage.lease-ttl (10s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envStorageURL, tc.env)
			opts, err := parseFlags(tc.args, io.Discard, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error contains the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags: %v", err)
			}
			if opts.storage.url != tc.wantURL || opts.storage.leaseTTL != tc.ttl || opts.storagePath != "data/" {
				t.Errorf("got url %q ttl %v path %q, want %q %v data/", opts.storage.url, opts.storage.leaseTTL, opts.storagePath, tc.wantURL, tc.ttl)
			}
		})
	}
}
