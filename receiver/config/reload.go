package config

import "fmt"

// CheckReload refuses a reload from prev (the configuration in force) to
// next that would silently open the receiver up or send every alert to the
// default chat: a file that lost its webhook_auth section or its routes
// (an editing accident, a half-written file, a template gone wrong) must not
// quietly become the new configuration. Each is accepted when next says so
// explicitly:
//
//   - webhook authentication on -> off: "webhook_auth: {disabled: true}";
//   - some routes -> none: "routes: []".
//
// A start is never refused for these: there is nothing to compare with.
func CheckReload(prev, next *Config) error {
	if prev == nil || next == nil {
		return nil
	}
	if prev.WebhookAuth.Enabled() && !next.WebhookAuth.Enabled() && !next.WebhookAuth.Disabled {
		return fmt.Errorf("reload refused: it would switch webhook authentication off " +
			"(write \"webhook_auth: {disabled: true}\" to really accept unauthenticated webhooks)")
	}
	if len(prev.Routes) > 0 && len(next.Routes) == 0 && !next.routesSet {
		return fmt.Errorf("reload refused: it would drop all %d route(s) and send every alert to the default chat "+
			"(write \"routes: []\" to really remove them)", len(prev.Routes))
	}
	return nil
}
