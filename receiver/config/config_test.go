package config

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// noEnv is an empty environment.
func noEnv(string) string { return "" }

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

const noDocument = `no configuration in the file (it is empty, only comments, "---" or null): refusing it; write "{}" to accept every default`

// TestInvalid checks every testdata/invalid-<rule>.yml against its exact error.
func TestInvalid(t *testing.T) {
	tests := []struct{ rule, want string }{
		{"alertmanager-url", `line 7: alertmanager: "urls": alertmanager URL "http://am:xxxxx@127.0.0.1:9094": credentials in the URL are not allowed; use basic_auth in the http client config`},
		{"alertmanager-http-config", `line 9: alertmanager: "http_config": unknown field "pasword"`},
		{"chat-updates", `line 5: chat: "updates" must be "poll", "webhook" or "off", got "push"`},
		{"chat-webhook-secret", `line 5: chat: "webhook_secret_token" is required with updates: webhook`},
		{"chat-webhook-secret-chars", `line 7: chat: "webhook_secret_token" must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)`},
		{"chat-webhook-url", `line 6: chat: "webhook_url" must be an absolute http or https URL, got "/telegram/updates"`},
		{"chat-grafana-url", `line 5: chat: "grafana_url": template: grafana_url:1: unclosed action`},
		{"route-allowed-users", `line 7: route "ops": "allowed_users"[1]: user id -5 must be positive (negative ids are chats)`},
		{"authorization-credentials-and-file", `line 6: webhook_auth: authorization: "credentials" and "credentials_file" are mutually exclusive`},
		{"authorization-no-credentials", `line 6: webhook_auth: authorization: "credentials" or "credentials_file" is required`},
		{"authorization-type", `line 6: webhook_auth: authorization: invalid "type" "Basic" (use basic_auth for Basic)`},
		{"basic-auth-no-password", `line 6: webhook_auth: basic_auth: "password" or "password_file" is required`},
		{"basic-auth-no-username", `line 6: webhook_auth: basic_auth: "username" is required`},
		{"basic-auth-password-and-file", `line 6: webhook_auth: basic_auth: "password" and "password_file" are mutually exclusive`},
		{"basic-auth-password-file-missing", `line 7: webhook_auth: basic_auth: "password_file": open testdata/does-not-exist.txt: no such file or directory`},
		{"bearer-token-and-authorization", `line 5: webhook_auth: "bearer_token"/"bearer_token_file" and "authorization" are mutually exclusive`},
		{"bearer-token-and-file", `line 5: webhook_auth: "bearer_token" and "bearer_token_file" are mutually exclusive`},
		{"bot-token-and-file", `line 2: telegram: "bot_token" and "bot_token_file" are mutually exclusive`},
		{"bot-token-file-empty", `line 2: telegram: "bot_token_file": file "empty.txt" is empty`},
		{"bot-token-file-missing", `line 2: telegram: "bot_token_file": open testdata/does-not-exist.txt: no such file or directory`},
		{"chat-id", `line 3: telegram: "chat_id": invalid chat id "my group": want a number like -1001234567890 or @channelname`},
		{"heartbeat-alertname", `line 5: heartbeat: "alertname" must not be empty`},
		{"heartbeat-timeout-duration", `line 6: heartbeat: "timeout": invalid duration "five minutes" (use 90s, 5m, 1h; 0 disables)`},
		{"heartbeat-timeout-short", `line 5: heartbeat: "timeout" must be 0 (off) or at least 1m (the Watchdog repeats every minute), got 30s`},
		{"duplicate-key", `line 5: mapping key "timezone" already defined at line 4`},
		{"incidents-retention-duration", `line 5: incidents: "retention": invalid duration "soon" (use 90s, 10m, 1h, 1d)`},
		{"incidents-retention-zero", `line 5: incidents: "retention" must be positive, got 0s`},
		{"route-digest-at", `line 8: digest: invalid "at" "8am" (use a local time like "08:00")`},
		{"route-digest-period", `line 7: digest: invalid "period" "hourly" (use daily or weekly)`},
		{"route-digest-weekday", `line 7: digest: a weekly digest needs "weekday" (monday … sunday)`},
		{"route-digest-weekday-daily", `line 8: digest: "weekday" is for a weekly digest only`},
		{"telegram-digest-no-chat-id", `line 3: telegram: "digest" goes to the default chat: "chat_id" or TELEGRAM_CHAT_ID is required with it`},
		{"telegram-digest-period", `line 5: digest: invalid "period" "monthly" (use daily or weekly)`},
		{"status-page-refresh", `line 6: status_page: "refresh" must be positive, got 0s`},
		{"status-page-url", `line 5: status_page: "grafana_url" (grafana.example.lan:3000) must be an absolute http or https URL`},
		{"no-bot-token", `telegram: "bot_token", "bot_token_file" or TELEGRAM_BOT_TOKEN is required`},
		{"no-chat-id", `telegram: "chat_id" or TELEGRAM_CHAT_ID is required when no routes are configured`},
		{"not-a-mapping", `line 1: config: expected a mapping, got a list`},
		{"reminders-duration", `line 7: reminders: "after": invalid duration "soon" (use 90s, 10m, 1h, 1d)`},
		{"reminders-order", `line 8: reminders: "after" must be strictly increasing, got 30m after 1h`},
		{"reminders-zero", `line 5: reminders: "after" values must be positive, got 0s`},
		{"route-chat-id-missing", `line 7: route "ops": "chat_id" is required`},
		{"route-chat-id", `line 5: route "ops": "chat_id": invalid chat id "@x": want a number like -1001234567890 or @channelname`},
		{"route-matcher", "line 8: route \"ops\": invalid matcher \"team=~\\\"(ops\\\"\": error parsing regexp: missing closing ): `^(?:(ops)$`"},
		{"route-name-chars", `line 4: route "ops team": "name" may contain only letters, digits, '_', '-' and '.'`},
		{"route-name-duplicate", `line 6: route "ops": duplicate route name`},
		{"route-name-missing", `line 4: route: "name" is required`},
		{"route-reminders-duration", `line 7: route "ops": reminders: "after": invalid duration "1x" (use 90s, 10m, 1h, 1d)`},
		{"route-reminders", `line 7: route "ops": reminders: "after" must be strictly increasing, got 1h after 1h`},
		{"route-thread-id", `line 6: route "ops": "message_thread_id" must not be negative`},
		{"route-thread-id-general", `line 6: route "ops": "message_thread_id" 1 is the General topic, which Telegram refuses ("message thread not found"): leave it out to send to General`},
		{"template-and-file", `line 5: templates: "firing" and "firing_file" are mutually exclusive`},
		{"template-file-missing", `line 5: templates: "resolved_file": open testdata/does-not-exist.tmpl: no such file or directory`},
		{"thread-id", `line 4: telegram: "message_thread_id" must not be negative`},
		{"thread-id-general", `line 4: telegram: "message_thread_id" 1 is the General topic, which Telegram refuses ("message thread not found"): leave it out to send to General`},
		{"time-format", `line 4: "time_format" "%Y-%m-%d %H:%M" has no date or time fields (use a Go layout like "2006-01-02 15:04:05 MST")`},
		{"timezone", `line 4: invalid "timezone" "Mars/Olympus_Mons": unknown time zone Mars/Olympus_Mons`},
		{"unknown-field", `line 7: route "ops": unknown field "reciever"`},
		{"webhook-auth-disabled-with-credentials", `line 6: webhook_auth: "disabled" cannot be combined with credentials`},
		{"empty", noDocument},
		{"comments-only", noDocument},
		{"document-marker", noDocument},
		{"null", noDocument},
		{"wrong-type", "line 4: telegram: \"message_thread_id\": cannot unmarshal !!str `general` into int"},
	}
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("got %d testdata/invalid-*.yml files, want %d (one test per file)", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid-"+tt.rule+".yml")
			_, err := load(path, noEnv)
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			want := fmt.Sprintf("error parsing config file %q: %s", path, tt.want)
			if err.Error() != want {
				t.Errorf("got error\n%s\nwant\n%s", err, want)
			}
		})
	}
}

func TestLoadGood(t *testing.T) {
	cfg, err := load("testdata/good.yml", env(map[string]string{EnvBotToken: "env-token", EnvChatID: "-1"}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"token from file, trimmed, file wins over env", cfg.Telegram.Token(), "123:FILETOKEN"},
		{"chat_id from file wins over env", cfg.Telegram.ChatID, "-1001234567890"},
		{"thread", cfg.Telegram.MessageThreadID, 3},
		{"timezone", cfg.Location().String(), "Europe/Berlin"},
		{"format", cfg.Format(), "02.01.2006 15:04 MST"},
		{"reminders", fmt.Sprint(cfg.Reminders.Durations()), "[15m0s 1h0m0s 4h0m0s]"},
		{"silent", cfg.Reminders.Silent, true},
		{"routes", len(cfg.Routes), 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	text, origin := cfg.Templates.Source("firing")
	if want := "🔥 <b>{{ .Host }}</b> down since {{ formatTime .Since }}\n"; text != want || origin != "firing.tmpl" {
		t.Errorf("firing template: got %q from %q, want %q from %q", text, origin, want, "firing.tmpl")
	}
	if text, origin := cfg.Templates.Source("resolved"); !strings.HasPrefix(text, "✅") || origin != "templates.resolved" {
		t.Errorf("resolved template: got %q from %q", text, origin)
	}
	if text, _ := cfg.Templates.Source("reminder"); text != "" {
		t.Errorf("reminder template: got %q, want built-in (empty)", text)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := load("testdata/defaults.yml", env(map[string]string{EnvBotToken: "t", EnvChatID: "@chan"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(cfg.Reminders.Durations()), "[10m0s 30m0s 1h0m0s]"; got != want {
		t.Errorf("reminders: got %s, want %s", got, want)
	}
	if !cfg.Reminders.Final || cfg.Reminders.Silent {
		t.Errorf("reminders: got final=%v silent=%v, want true false", cfg.Reminders.Final, cfg.Reminders.Silent)
	}
	if cfg.Format() != DefaultTimeFormat || cfg.Location() != time.Local {
		t.Errorf("got format %q zone %v, want %q Local", cfg.Format(), cfg.Location(), DefaultTimeFormat)
	}
	if cfg.WebhookAuth.Enabled() {
		t.Error("webhook auth enabled by default")
	}
}

func TestEnvironment(t *testing.T) {
	full := map[string]string{EnvBotToken: " 42:ENV \n", EnvChatID: "-100777"}
	tests := []struct {
		name, path  string
		env         map[string]string
		token, chat string
		wantErr     string
	}{
		{name: "zero-config", env: full, token: "42:ENV", chat: "-100777"},
		{name: "channel", env: map[string]string{EnvBotToken: "42:ENV", EnvChatID: "@alerts"}, token: "42:ENV", chat: "@alerts"},
		{name: "nothing", env: nil,
			wantErr: `invalid configuration from environment: telegram: "bot_token", "bot_token_file" or TELEGRAM_BOT_TOKEN is required`},
		{name: "token only", env: map[string]string{EnvBotToken: "42:ENV"},
			wantErr: `invalid configuration from environment: telegram: "chat_id" or TELEGRAM_CHAT_ID is required when no routes are configured`},
		{name: "bad chat", env: map[string]string{EnvBotToken: "42:ENV", EnvChatID: "alerts"},
			wantErr: `invalid configuration from environment: environment variable TELEGRAM_CHAT_ID: invalid chat id "alerts": want a number like -1001234567890 or @channelname`},
		{name: "env fills blanks", path: "testdata/partial.yml", env: full, token: "42:ENV", chat: "-100777"},
		{name: "{} file", path: "testdata/defaults.yml", env: full, token: "42:ENV", chat: "-100777"},
		{name: "file wins", path: "testdata/secrets.yml", env: full, token: "123456:SECRET-BOT-TOKEN", chat: "@alerts"},
		{name: "missing file", path: "testdata/nope.yml", env: full,
			wantErr: `error parsing config file "testdata/nope.yml": open testdata/nope.yml: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(tt.path, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got error %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Telegram.Token() != tt.token || cfg.Telegram.ChatID != tt.chat {
				t.Errorf("got token %q chat %q, want %q %q", cfg.Telegram.Token(), cfg.Telegram.ChatID, tt.token, tt.chat)
			}
		})
	}
}

// TestLoadDryRun: without sending, neither the bot token nor the default
// chat is required; every other rule still holds.
func TestLoadDryRun(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, strict := load(path, noEnv)
			_, err := loadMode(path, noEnv, false)
			switch filepath.Base(path) {
			case "invalid-no-bot-token.yml", "invalid-no-chat-id.yml":
				if err != nil {
					t.Errorf("got error %v, want none in dry-run", err)
				}
			default:
				if err == nil || strict == nil || err.Error() != strict.Error() {
					t.Errorf("got error %v, want %v as without dry-run", err, strict)
				}
			}
		})
	}
	cfg, err := loadMode("", noEnv, false)
	if err != nil {
		t.Fatalf("empty environment: got %v, want no error", err)
	}
	if cfg.Telegram.Token() != "" || cfg.Telegram.ChatID != "" || !cfg.Reminders.Final {
		t.Errorf("empty environment: got token %q chat %q reminders %+v, want empty and the defaults", cfg.Telegram.Token(), cfg.Telegram.ChatID, cfg.Reminders)
	}
	_, err = loadMode("", env(map[string]string{EnvChatID: "alerts"}), false)
	if want := `invalid configuration from environment: environment variable TELEGRAM_CHAT_ID: invalid chat id "alerts": want a number like -1001234567890 or @channelname`; err == nil || err.Error() != want {
		t.Errorf("bad chat id: got %v, want %s", err, want)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvBotToken, "42:ENV")
	t.Setenv(EnvChatID, "-100777")
	cfg, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cfg.Route("", "any", nil)
	if err != nil || r.ChatID != "-100777" {
		t.Errorf("got route %+v, %v, want chat -100777", r, err)
	}
}

// TestSecretsNeverPrinted: tokens and passwords never appear in fmt or YAML
// output of the config, its sections, or errors.
func TestSecretsNeverPrinted(t *testing.T) {
	secrets := []string{"SECRET-BOT-TOKEN", "SECRET-PASSWORD", "SECRET-CREDENTIALS", "FILETOKEN", "FILEPASSWORD", "123:abc", "s3cr3t"}
	cfg := mustLoad(t, "testdata/secrets.yml")
	good := mustLoad(t, "testdata/good.yml")
	bearer := mustLoad(t, "testdata/bearer.yml")
	var outputs []string
	for _, c := range []*Config{cfg, good, bearer} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			outputs = append(outputs,
				fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c), fmt.Sprintf(verb, c.Telegram),
				fmt.Sprintf(verb, c.WebhookAuth), fmt.Sprintf(verb, c.WebhookAuth.BasicAuth),
				fmt.Sprintf(verb, c.WebhookAuth.Authorization), fmt.Sprintf(verb, &c.Telegram))
		}
		y, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(y))
	}
	files, _ := filepath.Glob("testdata/*.yml")
	for _, f := range files {
		if _, err := load(f, env(map[string]string{EnvBotToken: "123456:SECRET-BOT-TOKEN", EnvChatID: "123456:SECRET-BOT-TOKEN"})); err != nil {
			outputs = append(outputs, err.Error())
		}
	}
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("output contains secret %q:\n%s", s, out)
			}
		}
	}
	// Even when a program asks common/config to marshal secret values.
	commoncfg.MarshalSecretValue = true
	y, err := yaml.Marshal(cfg)
	commoncfg.MarshalSecretValue = false
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(y), s) {
			t.Errorf("with MarshalSecretValue, YAML contains secret %q:\n%s", s, y)
		}
	}
	if y, _ := yaml.Marshal(cfg); !strings.Contains(string(y), "bot_token: <secret>") {
		t.Errorf("got YAML\n%s\nwant bot_token: <secret>", y)
	}
}

func TestRoute(t *testing.T) {
	cfg := mustLoad(t, "testdata/good.yml")
	db := map[string]string{"team": "db", "severity": "critical"}
	tests := []struct {
		name, route, receiver string
		labels                map[string]string
		want                  Route
		wantErr               error
	}{
		{name: "by name", route: "ops", want: Route{Name: "ops", ChatID: "-1009876543210", ThreadID: 12, Silent: true,
			Reminders: Reminders{After: cfg.Reminders.After, Silent: true, Final: false}}},
		{name: "by name, not matchable", route: "manual", receiver: "x", want: Route{Name: "manual", ChatID: "-1005555555555", Reminders: cfg.Reminders}},
		{name: "unknown name", route: "nope", wantErr: ErrUnknownRoute},
		{name: "matchers", receiver: "telegram-ops", labels: db,
			want: Route{Name: "db", ChatID: "@db_oncall", Reminders: Reminders{After: []model.Duration{model.Duration(5 * time.Minute)}, Silent: true, Final: true}}},
		{name: "matchers fail, receiver", receiver: "telegram-ops", labels: map[string]string{"team": "db", "severity": "warning"},
			want: Route{Name: "ops", ChatID: "-1009876543210", ThreadID: 12, Silent: true, Reminders: Reminders{After: cfg.Reminders.After, Silent: true}}},
		{name: "default", receiver: "other", labels: map[string]string{"team": "web"},
			want: Route{ChatID: "-1001234567890", ThreadID: 3, Reminders: cfg.Reminders}},
		{name: "nameless route is not a catch-all", receiver: "", labels: nil,
			want: Route{ChatID: "-1001234567890", ThreadID: 3, Reminders: cfg.Reminders}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cfg.Route(tt.route, tt.receiver, tt.labels)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	noDefault := &Config{Routes: []RouteConfig{{Name: "x", Receiver: "x", ChatID: "1", Matchers: []string{`a="b"`}}}}
	if _, err := noDefault.Route("", "y", nil); !errors.Is(err, ErrNoRoute) {
		t.Errorf("got %v, want ErrNoRoute", err)
	}
	if r, err := noDefault.Route("", "x", map[string]string{"a": "b"}); err != nil || r.ChatID != "1" {
		t.Errorf("config built without Load: got %+v %v, want chat 1", r, err)
	}
}

func TestAuthorized(t *testing.T) {
	secrets := mustLoad(t, "testdata/secrets.yml")
	good := mustLoad(t, "testdata/good.yml")
	bearer := mustLoad(t, "testdata/bearer.yml")
	none := WebhookAuth{}
	req := func(set func(r *http.Request)) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/webhook", nil)
		if set != nil {
			set(r)
		}
		return r
	}
	basic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	header := func(v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("Authorization", v) } }
	tests := []struct {
		name string
		auth WebhookAuth
		req  *http.Request
		want bool
	}{
		{"none configured", none, req(nil), true},
		{"basic ok", secrets.WebhookAuth, req(basic("alertmanager", "SECRET-PASSWORD")), true},
		{"basic wrong password", secrets.WebhookAuth, req(basic("alertmanager", "nope")), false},
		{"basic wrong user", secrets.WebhookAuth, req(basic("root", "SECRET-PASSWORD")), false},
		{"missing", secrets.WebhookAuth, req(nil), false},
		{"authorization ok", secrets.WebhookAuth, req(header("Token SECRET-CREDENTIALS")), true},
		{"authorization wrong type", secrets.WebhookAuth, req(header("Bearer SECRET-CREDENTIALS")), false},
		{"password file", good.WebhookAuth, req(basic("alertmanager", "FILEPASSWORD")), true},
		{"password file, trailing newline", good.WebhookAuth, req(basic("alertmanager", "FILEPASSWORD\n")), false},
		{"bearer file", bearer.WebhookAuth, req(header("Bearer 123:FILETOKEN")), true},
		{"bearer lower case scheme", bearer.WebhookAuth, req(header("bearer 123:FILETOKEN")), true},
		{"bearer wrong", bearer.WebhookAuth, req(header("Bearer 123:FILETOKE")), false},
		{"bearer empty", bearer.WebhookAuth, req(header("Bearer ")), false},
		{"inline bearer", WebhookAuth{BearerToken: "tok"}, req(header("Bearer tok")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.auth.Authorized(tt.req); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReminders(t *testing.T) {
	r := DefaultReminders()
	tests := []struct {
		down      time.Duration
		due       int
		wantFinal bool
	}{
		{0, 0, false},
		{9*time.Minute + 59*time.Second, 0, false},
		{10 * time.Minute, 1, false},
		{29 * time.Minute, 1, false},
		{30 * time.Minute, 2, false},
		{time.Hour, 3, true},
		{48 * time.Hour, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.down.String(), func(t *testing.T) {
			if got := r.Due(tt.down); got != tt.due {
				t.Errorf("Due: got %d, want %d", got, tt.due)
			}
			if got := r.IsFinal(r.Due(tt.down)); got != tt.wantFinal {
				t.Errorf("IsFinal: got %v, want %v", got, tt.wantFinal)
			}
		})
	}
	r.Final = false
	if r.IsFinal(3) {
		t.Error("IsFinal(3) with final: false: got true, want false")
	}
}

func TestRelativePathsFromConfigDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("9:X\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "c.yml")
	if err := os.WriteFile(p, []byte("telegram:\n  bot_token_file: tok\n  chat_id: \"1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Telegram.Token() != "9:X" {
		t.Errorf("got token %q, want %q", cfg.Telegram.Token(), "9:X")
	}
}

// mustLoad loads a testdata config without the environment, or fails the test.
func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	cfg, err := load(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
