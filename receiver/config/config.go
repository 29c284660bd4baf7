// Package config loads and validates the downtime_receiver configuration.
//
// # Loading
//
//	cfg, err := config.Load(path)    // path "" = environment only (zero-config start)
//	cfg, err := config.FromEnv()     // same as Load("")
//	cfg, err := config.LoadDryRun(path) // --dry-run: token and chat not required
//
// Load refuses a file with no configuration in it (empty, only comments, a
// bare "---" or null: [ErrNoDocument]; "{}" asks for every default), decodes
// the YAML file strictly (unknown fields are errors), applies
// defaults, validates, reads every *_file (paths relative to the config
// file's directory, contents trimmed of surrounding whitespace) and then
// merges the environment:
//
//   - TELEGRAM_BOT_TOKEN fills telegram.bot_token when the file sets neither
//     bot_token nor bot_token_file;
//   - TELEGRAM_CHAT_ID fills telegram.chat_id when the file does not set it.
//
// File values always win; the environment only fills blanks. The two
// variables alone are a complete configuration. After the merge a bot token
// is required, and a default chat_id is required unless routes are configured
// (except with LoadDryRun: a receiver that only prints needs neither).
//
// Errors name the file, the line and the field, for example:
//
//	error parsing config file "x.yml": line 7: route "ops": "chat_id" is required
//
// Secrets (bot token, webhook passwords and tokens) are
// github.com/prometheus/common/config.Secret values: they marshal as
// "<secret>", and Config, Telegram, WebhookAuth, BasicAuth and Authorization
// print themselves as that YAML with fmt's %v/%+v/%#v, so the values never
// reach logs or errors. Read them with [Telegram.Token] and
// [WebhookAuth.Authorized]. (A bare Secret field printed on its own, such as
// cfg.Telegram.BotToken with %v, is a plain string: never log one.)
//
// # File
//
//	telegram: {bot_token | bot_token_file, chat_id, message_thread_id, digest: {...}}
//	timezone: Local                        # IANA name
//	time_format: "2006-01-02 15:04:05 MST" # Go layout
//	reminders: {after: [10m, 30m, 1h], silent: false, final: true}
//	routes:
//	  - {name, receiver, matchers: ['k=~"re"'], chat_id, message_thread_id, reminders: {...}, silent}
//	webhook_auth:                          # like Alertmanager's http_config
//	  basic_auth: {username, password | password_file}
//	  bearer_token | bearer_token_file
//	  authorization: {type: Bearer, credentials | credentials_file}
//	templates: {firing | firing_file, reminder[_file], final_reminder[_file], resolved[_file], resolved_edit[_file],
//	            heartbeat_lost[_file], heartbeat_back[_file]}
//	heartbeat: {alertname: Watchdog, timeout: 5m}  # heartbeat.go
//	alertmanager: {urls, timeout: 10s, reconcile_interval: 15s, http_config: {...}}  # prometheus/common HTTPClientConfig
//	chat: {grafana_url, updates: poll|webhook|off, webhook_secret_token, webhook_url}
//	routes[].allowed_users: ["@alice_ops", "123456789"]
//
// receiver/TEMPLATES.md documents every key. Template files are read here;
// receiver/render parses them (call render.New when loading, so that
// --config.check reports template errors too).
//
// # Routing
//
// [Config.Route] picks the chat for a notification: by route name for
// POST /webhook/{name}, otherwise the first route whose receiver and matchers
// match, otherwise the default chat (telegram.chat_id).
//
// # Reminders
//
// [Reminders.After] lists the downtimes at which reminders are sent
// (default 10m, 30m, 1h). With Final (default true) the last one is the final
// reminder: "still down, no more reminders until it recovers"; nothing more is
// sent until the alert resolves. [Reminders.Due] and [Reminders.IsFinal] turn
// a downtime into a reminder number.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Environment variables read by Load and FromEnv.
const (
	EnvBotToken = "TELEGRAM_BOT_TOKEN"
	EnvChatID   = "TELEGRAM_CHAT_ID"
)

// DefaultTimeFormat is the default Go time layout of rendered timestamps.
const DefaultTimeFormat = "2006-01-02 15:04:05 MST"

// Config is the whole receiver configuration.
type Config struct {
	Telegram Telegram `yaml:"telegram,omitempty"`
	// Timezone is an IANA name ("Europe/Berlin", "UTC") or "Local" (default).
	Timezone string `yaml:"timezone,omitempty"`
	// TimeFormat is a Go time layout; default DefaultTimeFormat.
	TimeFormat  string        `yaml:"time_format,omitempty"`
	Reminders   Reminders     `yaml:"reminders"`
	Routes      []RouteConfig `yaml:"routes,omitempty"`
	WebhookAuth WebhookAuth   `yaml:"webhook_auth,omitempty"`
	Templates   Templates     `yaml:"templates,omitempty"`
	// Incidents and StatusPage configure the incident log and the page at /
	// (incidents.go).
	Incidents  Incidents  `yaml:"incidents,omitempty"`
	StatusPage StatusPage `yaml:"status_page,omitempty"`
	Heartbeat  Heartbeat  `yaml:"heartbeat"` // heartbeat.go
	// Alertmanager and Chat: acting from the chat (receiver/config/chat.go).
	Alertmanager Alertmanager `yaml:"alertmanager,omitempty"`
	Chat         Chat         `yaml:"chat,omitempty"`

	loc       *time.Location
	routesSet bool // the file has a "routes" key, even "routes: []" (CheckReload)
}

// Telegram holds the bot credentials and the default chat.
type Telegram struct {
	BotToken     commoncfg.Secret `yaml:"bot_token,omitempty"`
	BotTokenFile string           `yaml:"bot_token_file,omitempty"`
	// ChatID is the default chat: numeric ("-1001234567890") or "@channelname".
	// Used when no route matches. Required unless routes are configured.
	ChatID string `yaml:"chat_id,omitempty"`
	// MessageThreadID is the forum topic of the default chat (0 = none).
	MessageThreadID int `yaml:"message_thread_id,omitempty"`
	// Digest sends a daily or weekly summary of the default chat's
	// incidents (those of the alerts no route took) to the default chat,
	// like a route's digest. It needs ChatID (from the file or the
	// environment).
	Digest *Digest `yaml:"digest,omitempty"`

	fileToken  commoncfg.Secret
	fileLine   int
	digestLine int
}

// Token returns the bot token: bot_token, else the contents of bot_token_file
// read at load time (trimmed).
func (t Telegram) Token() string {
	if t.BotToken != "" {
		return string(t.BotToken)
	}
	return string(t.fileToken)
}

// Reminders says which of Alertmanager's repeated notifications become
// reminders. Alertmanager must repeat at least as often as the smallest gap
// between two reminders (repeat_interval) for them to arrive on time.
type Reminders struct {
	// After lists the downtimes at which reminder n (1-based) is due, strictly
	// increasing. An empty list disables reminders.
	After []model.Duration `yaml:"after"`
	// Silent sends reminders with disable_notification.
	Silent bool `yaml:"silent"`
	// Final makes the last reminder the final one ("no more reminders until
	// it recovers").
	Final bool `yaml:"final"`
}

// DefaultReminders returns the default schedule: 10m, 30m, then the final
// reminder at 1h, like the original script.
func DefaultReminders() Reminders {
	return Reminders{
		After: []model.Duration{model.Duration(10 * time.Minute), model.Duration(30 * time.Minute), model.Duration(time.Hour)},
		Final: true,
	}
}

// Due returns how many reminders are due after being down for d: 0 (none
// yet) .. len(After).
func (r Reminders) Due(d time.Duration) int {
	n := 0
	for _, a := range r.After {
		if d >= time.Duration(a) {
			n++
		}
	}
	return n
}

// IsFinal reports whether reminder n (1-based) is the final one.
func (r Reminders) IsFinal(n int) bool {
	return r.Final && n > 0 && n == len(r.After)
}

// DefaultConfig returns the defaults applied before decoding a file.
func DefaultConfig() Config {
	return Config{
		Timezone:   "Local",
		TimeFormat: DefaultTimeFormat,
		Reminders:  DefaultReminders(),
		Incidents:  DefaultIncidents(),
		StatusPage: DefaultStatusPage(),
		Heartbeat:  DefaultHeartbeat(),
	}
}

// Location returns the configured time zone (Local if unset or invalid).
func (c *Config) Location() *time.Location {
	if c.loc != nil {
		return c.loc
	}
	if loc, err := loadLocation(c.Timezone); err == nil {
		return loc
	}
	return time.Local
}

// Format returns the time layout (DefaultTimeFormat if unset).
func (c *Config) Format() string {
	if c.TimeFormat == "" {
		return DefaultTimeFormat
	}
	return c.TimeFormat
}

func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return time.Local, nil
	}
	return time.LoadLocation(name)
}

// Load reads, validates and returns the configuration in path, merged with
// the environment (see the package documentation). path "" means environment
// only.
func Load(path string) (*Config, error) {
	return load(path, os.Getenv)
}

// FromEnv returns the configuration made of TELEGRAM_BOT_TOKEN and
// TELEGRAM_CHAT_ID alone, with all other values at their defaults.
func FromEnv() (*Config, error) {
	return load("", os.Getenv)
}

// LoadDryRun is Load for a receiver that only prints its messages
// (--dry-run): neither a bot token nor a default chat_id is required, since
// nothing is sent. Everything else is checked as by Load. Without a chat_id
// and without routes, Telegram.ChatID is "".
func LoadDryRun(path string) (*Config, error) {
	return loadMode(path, os.Getenv, false)
}

func load(path string, getenv func(string) string) (*Config, error) {
	return loadMode(path, getenv, true)
}

// loadMode loads; creds says whether the bot token and the default chat are
// required.
func loadMode(path string, getenv func(string) string, creds bool) (*Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		if err := cfg.finish(".", getenv, creds); err != nil {
			return nil, fmt.Errorf("invalid configuration from environment: %w", err)
		}
		return &cfg, nil
	}
	if err := decodeFile(path, &cfg); err != nil {
		return nil, fmt.Errorf("error parsing config file %q: %w", path, err)
	}
	if err := cfg.finish(filepath.Dir(path), getenv, creds); err != nil {
		return nil, fmt.Errorf("error parsing config file %q: %w", path, err)
	}
	return &cfg, nil
}

func decodeFile(path string, cfg *Config) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return cleanYAMLError(err)
	}
	if err := checkDocument(&root); err != nil {
		return err
	}
	return cleanYAMLError(root.Decode(cfg))
}

// finish reads the *_file secrets and templates, merges the environment and
// checks what only the merged configuration can tell; creds: the bot token
// and the default chat are required.
func (c *Config) finish(dir string, getenv func(string) string, creds bool) error {
	if err := c.readFiles(dir); err != nil {
		return err
	}
	if c.Telegram.BotToken == "" && c.Telegram.BotTokenFile == "" {
		c.Telegram.BotToken = commoncfg.Secret(strings.TrimSpace(getenv(EnvBotToken)))
	}
	if c.Telegram.ChatID == "" {
		if v := strings.TrimSpace(getenv(EnvChatID)); v != "" {
			if err := checkChatID(v); err != nil {
				return fmt.Errorf("environment variable %s: %w", EnvChatID, err)
			}
			c.Telegram.ChatID = v
		}
	}
	if creds && c.Telegram.Token() == "" {
		return fmt.Errorf("telegram: \"bot_token\", \"bot_token_file\" or %s is required", EnvBotToken)
	}
	if creds && c.Telegram.ChatID == "" && len(c.Routes) == 0 {
		return fmt.Errorf("telegram: \"chat_id\" or %s is required when no routes are configured", EnvChatID)
	}
	if c.Telegram.Digest != nil && c.Telegram.ChatID == "" {
		return withLine(c.Telegram.digestLine, fmt.Errorf(
			"telegram: \"digest\" goes to the default chat: \"chat_id\" or %s is required with it", EnvChatID))
	}
	loc, err := loadLocation(c.Timezone)
	if err != nil { // already validated when decoded; the environment default may differ
		return fmt.Errorf("\"timezone\": %w", err)
	}
	c.loc = loc
	return nil
}

func (c *Config) readFiles(dir string) error {
	if c.Telegram.BotTokenFile != "" {
		s, err := readSecretFile(dir, c.Telegram.BotTokenFile)
		if err != nil {
			return withLine(c.Telegram.fileLine, fmt.Errorf("telegram: \"bot_token_file\": %w", err))
		}
		c.Telegram.fileToken = commoncfg.Secret(s)
	}
	c.Alertmanager.HTTPConfig.SetDirectory(dir)
	if err := c.WebhookAuth.readFiles(dir); err != nil {
		return err
	}
	return c.Templates.readFiles(dir)
}

// readSecretFile reads a secret file, trimmed; an empty file is an error.
// The error names the path, never the contents.
func readSecretFile(dir, name string) (string, error) {
	b, err := os.ReadFile(resolvePath(dir, name))
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("file %q is empty", name)
	}
	return s, nil
}

func resolvePath(dir, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

var chatIDRE = regexp.MustCompile(`^(-?[1-9][0-9]{0,19}|@[A-Za-z][A-Za-z0-9_]{3,31})$`)

func checkChatID(s string) error {
	if strings.Contains(s, ":") { // a bot token in the wrong place: never echo it
		return errors.New("invalid chat id (it looks like a bot token): want a number like -1001234567890 or @channelname")
	}
	if !chatIDRE.MatchString(s) {
		return fmt.Errorf("invalid chat id %q: want a number like -1001234567890 or @channelname", s)
	}
	return nil
}

// String prints the configuration as YAML with secrets hidden.
func (c Config) String() string { return marshalString(c) }

// GoString is String, so %#v hides secrets too.
func (c Config) GoString() string { return c.String() }

// String prints the section as YAML with the token hidden.
func (t Telegram) String() string { return marshalString(t) }

// GoString is String, so %#v hides the token too.
func (t Telegram) GoString() string { return t.String() }

func marshalString(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<error marshaling: %v>", err)
	}
	return string(b)
}

// MarshalYAML hides secrets explicitly, whatever
// commoncfg.MarshalSecretValue says.
func (t Telegram) MarshalYAML() (any, error) {
	type plain Telegram
	p := plain(t)
	p.BotToken = hide(p.BotToken)
	return p, nil
}

func hide(s commoncfg.Secret) commoncfg.Secret {
	if s == "" {
		return ""
	}
	return "<secret>"
}
