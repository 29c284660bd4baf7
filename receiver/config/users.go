package config

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// AllowedUsers is a route's allowed_users: numeric ids or usernames (with or
// without "@", case-insensitive). Empty means anyone in the chat.
type AllowedUsers struct {
	ids   map[int64]bool
	names map[string]bool
}

// ParseAllowedUsers validates the entries; errors name the entry's index
// (field is the config path, e.g. `routes[0].allowed_users`).
func ParseAllowedUsers(field string, entries []string) (AllowedUsers, error) {
	a := AllowedUsers{ids: map[int64]bool{}, names: map[string]bool{}}
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if id, err := strconv.ParseInt(e, 10, 64); err == nil {
			if id <= 0 {
				return AllowedUsers{}, fmt.Errorf("%s[%d]: user id %d must be positive (negative ids are chats)", field, i, id)
			}
			a.ids[id] = true
			continue
		}
		n := strings.TrimPrefix(e, "@")
		if !validUsername(n) {
			return AllowedUsers{}, fmt.Errorf("%s[%d]: %q is neither a user id nor a username (5-32 of a-z, 0-9, _)", field, i, clip(e))
		}
		a.names[strings.ToLower(n)] = true
	}
	return a, nil
}

func validUsername(n string) bool {
	if len(n) < 5 || len(n) > 32 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Empty reports whether anyone in the chat may act.
func (a AllowedUsers) Empty() bool { return len(a.ids) == 0 && len(a.names) == 0 }

// Allows reports whether the user (id, username without "@") is on the list (always true for an empty list).
func (a AllowedUsers) Allows(id int64, username string) bool {
	if a.Empty() {
		return true
	}
	return a.ids[id] || (username != "" && a.names[strings.ToLower(username)])
}

// clip shortens untrusted text for an error message.
func clip(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// LinkTemplate is a URL template from the config, e.g. a Grafana dashboard:
//
//	https://grafana.example/d/downtime?var-target={{ .Labels.target | urlquery }}&from={{ .StartsAt.UnixMilli }}
type LinkTemplate struct{ t *template.Template }

// LinkData is what a LinkTemplate sees.
type LinkData struct {
	Labels   map[string]string
	StartsAt time.Time
}

// ParseLinkTemplate parses s; name is used in errors (e.g. the config field).
func ParseLinkTemplate(name, s string) (*LinkTemplate, error) {
	t, err := template.New(name).Option("missingkey=zero").Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	lt := &LinkTemplate{t: t}
	if _, err := lt.Execute(LinkData{Labels: map[string]string{"alertname": "HostDown", "target": "host.example"}, StartsAt: time.Unix(0, 0)}); err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	return lt, nil
}

// Execute renders the link; an error when the result is not an absolute
// http(s) URL.
func (lt *LinkTemplate) Execute(d LinkData) (string, error) {
	if lt == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := lt.t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("link template %q: %w", lt.t.Name(), err)
	}
	s := strings.TrimSpace(b.String())
	if p, err := url.Parse(s); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", fmt.Errorf("link template %q: result %q is not an http(s) URL", lt.t.Name(), clip(s))
	}
	return s, nil
}
