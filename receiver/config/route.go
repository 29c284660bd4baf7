package config

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Errors returned by Config.Route, for errors.Is.
var (
	// ErrUnknownRoute: POST /webhook/{name} named no configured route.
	ErrUnknownRoute = errors.New("unknown route")
	// ErrNoRoute: no route matched and there is no default chat_id.
	ErrNoRoute = errors.New("no route matches and no default chat_id is configured")
)

// RouteConfig is one entry of "routes:" as written in the file.
type RouteConfig struct {
	// Name is used by POST /webhook/{name}: letters, digits, '_', '-', '.'.
	Name string `yaml:"name"`
	// Receiver matches the Alertmanager receiver name of the notification.
	Receiver string `yaml:"receiver,omitempty"`
	// Matchers are Alertmanager-style matchers (`severity="critical"`,
	// `instance=~"db.*"`); all must match. Several may share one string,
	// comma-separated.
	Matchers        []string `yaml:"matchers,omitempty"`
	ChatID          string   `yaml:"chat_id"`
	MessageThreadID int      `yaml:"message_thread_id,omitempty"`
	// Reminders overrides the global reminders; keys left out are inherited.
	Reminders *ReminderOverride `yaml:"reminders,omitempty"`
	// Silent sends every message of this route with disable_notification.
	Silent bool `yaml:"silent,omitempty"`
	// Digest sends a daily or weekly summary of the route's incidents.
	Digest *Digest `yaml:"digest,omitempty"`
	// AllowedUsers may press the buttons of this route's messages (user
	// ids or usernames); empty: anyone in the chat.
	AllowedUsers []string `yaml:"allowed_users,omitempty"`

	matchers labels.Matchers
	allowed  AllowedUsers
}

// ReminderOverride is a route's partial reminders section.
type ReminderOverride struct {
	After  []model.Duration `yaml:"after,omitempty"`
	Silent *bool            `yaml:"silent,omitempty"`
	Final  *bool            `yaml:"final,omitempty"`

	hasAfter  bool
	afterNode *yaml.Node
}

// Route is the resolved destination of a notification.
type Route struct {
	// Name is the route's name; "" for the default chat.
	Name      string
	ChatID    string
	ThreadID  int
	Reminders Reminders
	// Silent: send every message with disable_notification. Reminders are
	// also silent when Reminders.Silent is set.
	Silent bool
}

var routeNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// UnmarshalYAML decodes one route strictly and validates it.
func (r *RouteConfig) UnmarshalYAML(node *yaml.Node) error {
	type plain RouteConfig
	section := fmt.Sprintf("route %q", field(node, "name").Value)
	if rem := field(node, "reminders"); rem != node {
		if err := checkDurations(field(rem, "after"), section+": reminders"); err != nil {
			return err
		}
	}
	if err := decodeStrict(node, (*plain)(r), section); err != nil {
		return err
	}
	if r.Name == "" {
		return atLine(node, "route: \"name\" is required")
	}
	if !routeNameRE.MatchString(r.Name) {
		return atLine(field(node, "name"), "route %q: \"name\" may contain only letters, digits, '_', '-' and '.'", r.Name)
	}
	if r.ChatID == "" {
		return atLine(node, "route %q: \"chat_id\" is required", r.Name)
	}
	if err := checkChatID(r.ChatID); err != nil {
		return atLine(field(node, "chat_id"), "route %q: \"chat_id\": %w", r.Name, err)
	}
	if err := checkThreadID(r.MessageThreadID); err != nil {
		return atLine(field(node, "message_thread_id"), "route %q: %w", r.Name, err)
	}
	if o := r.Reminders; o != nil && o.hasAfter {
		if err := checkAfter(o.afterNode, o.After, fmt.Sprintf("route %q: reminders", r.Name)); err != nil {
			return err
		}
	}
	if err := r.parseAllowedUsers(field(node, "allowed_users")); err != nil {
		return err
	}
	return r.parseMatchers(field(node, "matchers"))
}

func (r *RouteConfig) parseMatchers(node *yaml.Node) error {
	r.matchers = nil
	for i, s := range r.Matchers {
		ms, err := labels.ParseMatchers(s)
		if err == nil && len(ms) == 0 {
			err = errors.New("empty matcher")
		}
		if err != nil {
			n := node
			if node.Kind == yaml.SequenceNode && i < len(node.Content) {
				n = node.Content[i]
			}
			return atLine(n, "route %q: invalid matcher %q: %w", r.Name, s, err)
		}
		r.matchers = append(r.matchers, ms...)
	}
	return nil
}

// UnmarshalYAML decodes a route's reminders override strictly.
func (o *ReminderOverride) UnmarshalYAML(node *yaml.Node) error {
	type plain ReminderOverride
	if err := decodeStrict(node, (*plain)(o), "reminders"); err != nil {
		return err
	}
	o.afterNode = field(node, "after")
	o.hasAfter = o.afterNode != node
	return nil
}

// checkAfter checks that a reminder schedule is positive and increasing.
func checkAfter(node *yaml.Node, after []model.Duration, section string) error {
	for i, d := range after {
		n := node
		if node.Kind == yaml.SequenceNode && i < len(node.Content) {
			n = node.Content[i]
		}
		if d <= 0 {
			return atLine(n, "%s: \"after\" values must be positive, got %s", section, d)
		}
		if i > 0 && d <= after[i-1] {
			return atLine(n, "%s: \"after\" must be strictly increasing, got %s after %s", section, d, after[i-1])
		}
	}
	return nil
}

// checkRoutes checks what needs all routes at once.
func (c *Config) checkRoutes(node *yaml.Node) error {
	seen := map[string]bool{}
	for i, r := range c.Routes {
		n := node
		if node.Kind == yaml.SequenceNode && i < len(node.Content) {
			n = node.Content[i]
		}
		if seen[r.Name] {
			return atLine(n, "route %q: duplicate route name", r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}

// effective returns the route's reminders: the global ones with the
// override's keys applied.
func (r *RouteConfig) effective(global Reminders) Reminders {
	out := global
	if o := r.Reminders; o != nil {
		if o.hasAfter || o.After != nil {
			out.After = o.After
		}
		if o.Silent != nil {
			out.Silent = *o.Silent
		}
		if o.Final != nil {
			out.Final = *o.Final
		}
	}
	return out
}

// matches reports whether the route applies to a notification of receiver
// with labels. A route with neither receiver nor matchers is reachable only
// by name (POST /webhook/{name}); it is not a catch-all.
func (r *RouteConfig) matches(receiver string, lset map[string]string) bool {
	if r.Receiver == "" && len(r.Matchers) == 0 {
		return false
	}
	if r.Receiver != "" && r.Receiver != receiver {
		return false
	}
	ms := r.matchers
	if ms == nil && len(r.Matchers) > 0 { // built without Load
		for _, s := range r.Matchers {
			m, err := labels.ParseMatchers(s)
			if err != nil {
				return false
			}
			ms = append(ms, m...)
		}
	}
	for _, m := range ms {
		if !m.Matches(lset[m.Name]) {
			return false
		}
	}
	return true
}

// Route returns where a notification goes. name is the {name} of
// POST /webhook/{name} ("" for POST /webhook): an unknown name is an error
// wrapping ErrUnknownRoute. Without a name, the first route whose receiver
// (if set) equals receiver and whose matchers (if any) all match labels wins;
// otherwise the default chat (telegram.chat_id), or an error wrapping
// ErrNoRoute when there is none. Pass an alert's labels to route per alert,
// or the notification's common labels to route the whole group.
func (c *Config) Route(name, receiver string, labels map[string]string) (Route, error) {
	if name != "" {
		for i := range c.Routes {
			if c.Routes[i].Name == name {
				return c.resolve(&c.Routes[i]), nil
			}
		}
		return Route{}, fmt.Errorf("%w %q", ErrUnknownRoute, name)
	}
	for i := range c.Routes {
		if c.Routes[i].matches(receiver, labels) {
			return c.resolve(&c.Routes[i]), nil
		}
	}
	if c.Telegram.ChatID == "" {
		return Route{}, fmt.Errorf("receiver %q: %w", receiver, ErrNoRoute)
	}
	return Route{
		ChatID:    c.Telegram.ChatID,
		ThreadID:  c.Telegram.MessageThreadID,
		Reminders: c.Reminders,
	}, nil
}

func (c *Config) resolve(r *RouteConfig) Route {
	return Route{
		Name:      r.Name,
		ChatID:    r.ChatID,
		ThreadID:  r.MessageThreadID,
		Reminders: r.effective(c.Reminders),
		Silent:    r.Silent,
	}
}

// Durations returns After as time.Durations.
func (r Reminders) Durations() []time.Duration {
	out := make([]time.Duration, len(r.After))
	for i, d := range r.After {
		out[i] = time.Duration(d)
	}
	return out
}

// generalTopic is the thread id of a forum's General topic.
const generalTopic = 1

// checkThreadID checks a message_thread_id (0 = none). Telegram refuses the
// General topic's id 1 ("message thread not found"): messages without a
// thread id go there.
func checkThreadID(id int) error {
	switch {
	case id < 0:
		return errors.New(`"message_thread_id" must not be negative`)
	case id == generalTopic:
		return errors.New(`"message_thread_id" 1 is the General topic, which Telegram refuses ` +
			`("message thread not found"): leave it out to send to General`)
	}
	return nil
}
