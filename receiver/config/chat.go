package config

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
)

// Defaults of the alertmanager section.
const (
	DefaultAlertmanagerTimeout = 10 * time.Second
	DefaultReconcileInterval   = 15 * time.Second
)

// Alertmanager is the "alertmanager:" section: the API the chat buttons
// (silences) and the reconciler (recoveries Alertmanager never sends) use.
// Without URLs (here or --alertmanager.url) neither runs.
type Alertmanager struct {
	// URLs of the Alertmanager peers (one per HA peer), with the route
	// prefix if any, without credentials (put them in http_config).
	URLs []string `yaml:"urls,omitempty"`
	// Timeout bounds each request (default 10s).
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// ReconcileInterval is how often firing alerts are checked against
	// Alertmanager (default 15s).
	ReconcileInterval model.Duration `yaml:"reconcile_interval,omitempty"`
	// HTTPConfig is prometheus/common's HTTP client config (basic_auth,
	// authorization, tls_config, proxy_url, ...), as in Prometheus'
	// alerting.alertmanagers[].http_config.
	HTTPConfig commoncfg.HTTPClientConfig `yaml:"http_config,omitempty"`

	parsed []*url.URL
}

// Chat is the "chat:" section: acting from the chat.
type Chat struct {
	// GrafanaURL is a Go template of a dashboard link button, with
	// .Labels and .StartsAt (see LinkTemplate).
	GrafanaURL string `yaml:"grafana_url,omitempty"`
	// Updates is how the receiver gets button presses and commands:
	// "poll" (getUpdates long polling, the default), "webhook" (Telegram
	// POSTs them to /telegram/updates; set WebhookSecretToken) or "off".
	Updates string `yaml:"updates,omitempty"`
	// WebhookSecretToken is Telegram's secret_token, checked in the
	// X-Telegram-Bot-Api-Secret-Token header in webhook mode.
	WebhookSecretToken commoncfg.Secret `yaml:"webhook_secret_token,omitempty"`
	// WebhookURL is the public URL of this receiver's /telegram/updates,
	// given to setWebhook in webhook mode (Telegram's cloud wants https on
	// port 443, 80, 88 or 8443). Unset: the receiver does not call
	// setWebhook (set it yourself). In poll mode a webhook set to this URL
	// is deleted, as getUpdates does not work while one is set.
	WebhookURL string `yaml:"webhook_url,omitempty"`

	grafana *LinkTemplate
}

// Ways to receive updates.
const (
	UpdatesPoll    = "poll"
	UpdatesWebhook = "webhook"
	UpdatesOff     = "off"
)

// UnmarshalYAML decodes the alertmanager section strictly and validates it.
func (a *Alertmanager) UnmarshalYAML(node *yaml.Node) error {
	type plain Alertmanager
	if err := decodeStrict(node, (*plain)(a), "alertmanager"); err != nil {
		return err
	}
	if hc := field(node, "http_config"); hc != node {
		// Node.Decode is not strict inside HTTPClientConfig's own
		// unmarshaler; a decoder with KnownFields is.
		var buf bytes.Buffer
		if err := yaml.NewEncoder(&buf).Encode(hc); err != nil {
			return err
		}
		dec := yaml.NewDecoder(&buf)
		dec.KnownFields(true)
		a.HTTPConfig = commoncfg.HTTPClientConfig{}
		if err := dec.Decode(&a.HTTPConfig); err != nil {
			return httpConfigError(hc, err)
		}
		if err := a.HTTPConfig.Validate(); err != nil {
			return atLine(hc, "alertmanager: \"http_config\": %w", err)
		}
	}
	urls := field(node, "urls")
	for i, s := range a.URLs {
		n := urls
		if urls.Kind == yaml.SequenceNode && i < len(urls.Content) {
			n = urls.Content[i]
		}
		if _, err := alertmanager.ParseURL(s); err != nil {
			return atLine(n, "alertmanager: \"urls\": %w", err)
		}
	}
	return nil
}

// WithURLs returns the section with extra URLs (--alertmanager.url)
// appended, duplicates dropped, every URL parsed.
func (a Alertmanager) WithURLs(extra []string) (Alertmanager, error) {
	seen := map[string]bool{}
	var urls []string
	a.parsed = nil
	for _, s := range append(append([]string{}, a.URLs...), extra...) {
		u, err := alertmanager.ParseURL(s)
		if err != nil {
			return a, err
		}
		if seen[u.String()] {
			continue
		}
		seen[u.String()] = true
		urls = append(urls, s)
		a.parsed = append(a.parsed, u)
	}
	a.URLs = urls
	return a, nil
}

// Client is the configuration of the Alertmanager API client; call after
// WithURLs. Enabled reports whether any URL is set.
func (a Alertmanager) Client() alertmanager.Config {
	t := time.Duration(a.Timeout)
	if t == 0 {
		t = DefaultAlertmanagerTimeout
	}
	return alertmanager.Config{URLs: a.parsed, HTTPClientConfig: a.HTTPConfig, Timeout: t}
}

// Enabled reports whether an Alertmanager URL is configured.
func (a Alertmanager) Enabled() bool { return len(a.URLs) > 0 }

// Interval is the reconcile interval with its default.
func (a Alertmanager) Interval() time.Duration {
	if a.ReconcileInterval == 0 {
		return DefaultReconcileInterval
	}
	return time.Duration(a.ReconcileInterval)
}

// UnmarshalYAML decodes the chat section strictly and validates it.
func (c *Chat) UnmarshalYAML(node *yaml.Node) error {
	type plain Chat
	if err := decodeStrict(node, (*plain)(c), "chat"); err != nil {
		return err
	}
	switch c.Updates {
	case "", UpdatesPoll, UpdatesWebhook, UpdatesOff:
	default:
		return atLine(field(node, "updates"), "chat: \"updates\" must be %q, %q or %q, got %q", UpdatesPoll, UpdatesWebhook, UpdatesOff, c.Updates)
	}
	if c.Updates == UpdatesWebhook && c.WebhookSecretToken == "" {
		return atLine(node, "chat: \"webhook_secret_token\" is required with updates: webhook")
	}
	if c.WebhookSecretToken != "" && !validSecretToken(string(c.WebhookSecretToken)) {
		// The value is a secret: the error does not show it.
		return atLine(field(node, "webhook_secret_token"), "chat: \"webhook_secret_token\" must be 1 to 256 characters "+
			"of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return atLine(field(node, "webhook_url"), "chat: \"webhook_url\" must be an absolute http or https URL, got %q",
				redactedURL(c.WebhookURL))
		}
	}
	if c.GrafanaURL != "" {
		lt, err := ParseLinkTemplate("grafana_url", c.GrafanaURL)
		if err != nil {
			return atLine(field(node, "grafana_url"), "chat: %w", err)
		}
		c.grafana = lt
	}
	return nil
}

// validSecretToken is the Bot API's rule for secret_token.
func validSecretToken(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// redactedURL is s without a password, for errors.
func redactedURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

// UpdatesMode is Updates with its default.
func (c Chat) UpdatesMode() string {
	if c.Updates == "" {
		return UpdatesPoll
	}
	return c.Updates
}

// Grafana is the parsed grafana_url template (nil when unset).
func (c Chat) Grafana() *LinkTemplate { return c.grafana }

// MarshalYAML hides the secret token.
func (c Chat) MarshalYAML() (any, error) {
	type plain Chat
	p := plain(c)
	p.WebhookSecretToken = hide(p.WebhookSecretToken)
	return p, nil
}

// AllowedUsers returns the allowed_users of the named route (empty: anyone
// in the route's chat; also for the default chat).
func (c *Config) AllowedUsers(route string) AllowedUsers {
	for _, r := range c.Routes {
		if r.Name == route {
			return r.allowed
		}
	}
	return AllowedUsers{}
}

// parseAllowedUsers validates a route's allowed_users.
func (r *RouteConfig) parseAllowedUsers(node *yaml.Node) error {
	a, err := ParseAllowedUsers(fmt.Sprintf("route %q: \"allowed_users\"", r.Name), r.AllowedUsers)
	if err != nil {
		return atLine(node, "%w", err)
	}
	r.allowed = a
	return nil
}

// httpConfigError reports an error of the re-encoded http_config at its
// line in the file.
func httpConfigError(hc *yaml.Node, err error) error {
	msg := cleanYAMLError(err).Error()
	line := hc.Line
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		line += n - 1
		msg = msg[len(m[0]):]
	}
	return fmt.Errorf("line %d: alertmanager: \"http_config\": %s", line, msg)
}
