package main

import (
	"fmt"

	"github.com/downtime-detector/downtime/receiver/alertmanager"
	"github.com/downtime-detector/downtime/receiver/config"
	"github.com/downtime-detector/downtime/receiver/delivery"
	"github.com/downtime-detector/downtime/receiver/render"
)

// current is the configuration in force with what is built from it. The
// webhook handler and the delivery worker load it once per use through
// live, and a reload replaces it whole, so routes, templates, auth and
// the bot token always come from one file version. Queued jobs carry their
// chat and text, so a reload does not change them.
type current struct {
	cfg     *config.Config
	rnd     *render.Renderer // the user's templates
	builtin *render.Renderer // fallback when a user template fails
	sender  delivery.Sender
	// am is the Alertmanager client of this configuration (nil without a
	// URL), rebuilt by every reload: URLs, http_config and the files it
	// names apply to the next press, reconcile round and parent list.
	am *alertmanager.Client
}

func (c *current) token() string { return c.cfg.Telegram.Token() }
func (c *current) routes() int   { return len(c.cfg.Routes) }
func (c *current) authOn() bool  { return c.cfg.WebhookAuth.Enabled() }

// templates reports whether any user template replaces a built-in one.
func (c *current) templates() bool {
	for _, k := range render.Kinds {
		if text, _ := c.cfg.Templates.Source(string(k)); text != "" {
			return true
		}
	}
	return false
}

// loadCurrent reads the configuration and templates and builds the sender
// (which never contacts Telegram) and the Alertmanager client (which
// contacts nobody yet; amm, when not nil, are its metrics). prev, when not
// nil, is the running configuration: its sender is kept unless the bot
// token changed, so the HTTP connections to Telegram survive an ordinary
// reload.
func loadCurrent(opts *options, prev *current, amm *alertmanager.Metrics) (*current, error) {
	cfg, rnd, err := loadConfig(opts)
	if err != nil {
		return nil, err
	}
	builtin, err := render.New(config.Templates{}, cfg.Location(), cfg.Format())
	if err != nil {
		return nil, fmt.Errorf("parsing built-in templates: %w", err)
	}
	c := &current{cfg: cfg, rnd: rnd, builtin: builtin}
	if cfg.Alertmanager.Enabled() {
		ac := cfg.Alertmanager.Client()
		ac.Metrics = amm
		if c.am, err = alertmanager.New(ac, opts.logger, nil); err != nil {
			return nil, configError(opts, err)
		}
	}
	if prev != nil && (opts.dryRun || prev.token() == c.token()) {
		c.sender = prev.sender
		return c, nil
	}
	if c.sender, err = newSender(opts, cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// checkConfig is --config.check: load everything a start would load, but
// open no store and contact nobody.
func checkConfig(opts *options) error {
	c, err := loadCurrent(opts, nil, nil)
	if err != nil {
		return err
	}
	src := opts.configFile
	if src == "" {
		src = "environment (" + config.EnvBotToken + ", " + config.EnvChatID + ")"
	}
	fmt.Fprintf(opts.stdout, "config OK: %s: %d route(s), webhook auth %s, %s templates\n",
		src, c.routes(), onOff(c.authOn()), map[bool]string{true: "custom", false: "built-in"}[c.templates()])
	return nil
}

// configError names the config file (when there is one) in an error.
func configError(opts *options, err error) error {
	if opts.configFile == "" {
		return err
	}
	return fmt.Errorf("config file %q: %w", opts.configFile, err)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// applyReload returns the load function of the shared reloader: load the
// configuration again and swap it in whole. On error the running
// configuration stays. Config errors never contain secrets
// (receiver/config guarantees it), so they are logged and answered as they
// are.
func applyReload(opts *options, l *live, amm *alertmanager.Metrics, changed func(prev, next *config.Config)) func() error {
	return func() error {
		prev := l.load()
		next, err := loadCurrent(opts, prev, amm)
		if err != nil {
			return err
		}
		if err := config.CheckReload(prev.cfg, next.cfg); err != nil {
			return fmt.Errorf("config file %q: %w", opts.configFile, err)
		}
		l.store(next)
		if changed != nil {
			changed(prev.cfg, next.cfg)
		}
		if next.sender != prev.sender {
			opts.logger.Warn("bot token changed: queued and new messages are sent by the new bot; " +
				"firing messages sent by the old bot cannot be edited by it when they resolve")
		}
		opts.logger.Info("configuration reloaded", "routes", next.routes(), "webhook_auth", next.authOn(),
			"custom_templates", next.templates(), "alertmanagers", len(next.cfg.Alertmanager.URLs),
			"chat_updates", next.cfg.Chat.UpdatesMode())
		return nil
	}
}
