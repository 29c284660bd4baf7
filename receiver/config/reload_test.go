package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckReload: a reload that loses webhook auth or every route is
// refused unless the new file asks for it.
func TestCheckReload(t *testing.T) {
	const base = "telegram: {bot_token: \"1:x\", chat_id: \"-100\"}\n"
	const auth = "webhook_auth: {bearer_token: s3cret}\n"
	const routes = "routes: [{name: db, chat_id: \"-200\"}]\n"
	tests := []struct {
		name, prev, next string
		wantErr          string
	}{
		{"auth kept", base + auth, base + auth, ""},
		{"auth on to off", base + auth, base, `reload refused: it would switch webhook authentication off (write "webhook_auth: {disabled: true}" to really accept unauthenticated webhooks)`},
		{"auth on to off, asked", base + auth, base + "webhook_auth: {disabled: true}\n", ""},
		{"auth off to on", base, base + auth, ""},
		{"auth off stays off", base, base, ""},
		{"auth changed", base + auth, base + "webhook_auth: {basic_auth: {username: am, password: pw}}\n", ""},
		{"routes dropped", base + routes, base, `reload refused: it would drop all 1 route(s) and send every alert to the default chat (write "routes: []" to really remove them)`},
		{"routes dropped, asked", base + routes, base + "routes: []\n", ""},
		{"routes changed", base + routes, base + "routes: [{name: web, chat_id: \"-300\"}]\n", ""},
		{"no routes before", base, base, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev, next := loadString(t, tt.prev), loadString(t, tt.next)
			err := CheckReload(prev, next)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("got error %v, want %s", err, tt.wantErr)
			}
		})
	}
	if err := CheckReload(nil, loadString(t, base)); err != nil {
		t.Errorf("start (no previous config): got %v, want no error", err)
	}
}

func loadString(t *testing.T, body string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
