package telegramtest

import (
	"encoding/json"
	"net/url"
)

// Webhook is the webhook set with setWebhook, as the fake holds it.
type Webhook struct {
	URL            string
	SecretToken    string
	AllowedUpdates []string
}

// The Bot API's answers (telegram-bot-api's Client.cpp).
const (
	conflictWebhookActive = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	conflictSetWebhook    = "Conflict: terminated by setWebhook request"
)

// setWebhook sets (or with an empty url, deletes) the webhook. As in the
// Bot API: the URL must be an absolute http(s) URL (400 "invalid webhook
// URL specified"; the real server also wants HTTPS on ports 443, 80, 88 or
// 8443 unless it runs in --local mode, which the fake does not check); the
// secret token is at most 256 characters of A-Z, a-z, 0-9, _ and -; a new
// URL terminates a waiting getUpdates with 409 "terminated by setWebhook
// request"; setting the same webhook again answers true ("Webhook is
// already set"). The fake does not deliver updates to the URL: tests POST
// them to the receiver themselves.
func (s *Server) setWebhook(p map[string]string) (any, *apiError) {
	raw := p["url"]
	if raw == "" {
		return s.deleteWebhook(p)
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badRequest("invalid webhook URL specified")
	}
	secret := p["secret_token"]
	if len(secret) > 256 {
		return nil, badRequest("secret token is too long")
	}
	for _, r := range secret {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return nil, badRequest("secret token contains unallowed characters")
		}
	}
	var allowed []string
	if a := p["allowed_updates"]; a != "" {
		if err := json.Unmarshal([]byte(a), &allowed); err != nil {
			return nil, badRequest("can't parse allowed_updates JSON array")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = &Webhook{URL: raw, SecretToken: secret, AllowedUpdates: allowed}
	s.webhookSets++
	s.notify() // a waiting getUpdates ends with 409
	return true, nil
}

// deleteWebhook removes the webhook (none set: still true).
func (s *Server) deleteWebhook(map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = nil
	return true, nil
}

// getWebhookInfo describes the webhook ("url" empty when none is set).
func (s *Server) getWebhookInfo(map[string]string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := map[string]any{"url": "", "has_custom_certificate": false, "pending_update_count": len(s.updates)}
	if w := s.webhook; w != nil {
		info["url"], info["max_connections"], info["ip_address"] = w.URL, 40, "127.0.0.1"
		if len(w.AllowedUpdates) > 0 {
			info["allowed_updates"] = w.AllowedUpdates
		}
	}
	return info, nil
}

// webhookConflict is the 409 getUpdates gets while a webhook is set (set
// before the call, or while it waited); s.mu is held.
func (s *Server) webhookConflict(setBefore int) *apiError {
	switch {
	case s.webhook == nil:
		return nil
	case s.webhookSets != setBefore:
		s.conflicts++
		return &apiError{code: 409, desc: conflictSetWebhook}
	default:
		s.conflicts++
		return &apiError{code: 409, desc: conflictWebhookActive}
	}
}

// SetWebhookDirectly sets a webhook as if another program (or the user
// with curl) had called setWebhook.
func (s *Server) SetWebhookDirectly(w Webhook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = &w
	s.webhookSets++
	s.notify()
}

// Webhook returns the webhook set now (nil: none; getUpdates works).
func (s *Server) Webhook() *Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook == nil {
		return nil
	}
	w := *s.webhook
	w.AllowedUpdates = append([]string(nil), w.AllowedUpdates...)
	return &w
}

// TakeUpdates removes and returns the pending updates, as Telegram would
// POST them to the webhook (the fake does not call the URL itself): a test
// posts each to the receiver with the secret token. Their update_ids come
// from the same sequence as getUpdates', as in the Bot API.
func (s *Server) TakeUpdates() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.updates
	s.updates = nil
	return out
}
