package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// WebhookInfo is what getWebhookInfo tells about the bot's webhook.
type WebhookInfo struct {
	URL                string   `json:"url"` // "" when none is set (getUpdates works)
	PendingUpdateCount int      `json:"pending_update_count"`
	LastErrorMessage   string   `json:"last_error_message,omitempty"`
	AllowedUpdates     []string `json:"allowed_updates,omitempty"`
}

// SetWebhook makes Telegram POST the bot's updates (AllowedUpdates only)
// to url with secret in the X-Telegram-Bot-Api-Secret-Token header. While
// a webhook is set, getUpdates answers 409. Pending updates are kept. The
// secret never appears in the error.
func (c *Client) SetWebhook(ctx context.Context, url, secret string) error {
	if url == "" {
		return errors.New("setWebhook: empty URL (use DeleteWebhook)")
	}
	allowed, _ := json.Marshal(AllowedUpdates)
	_, err := c.call(ctx, "setWebhook", tgbotapi.Params{"url": url, "secret_token": secret,
		"allowed_updates": string(allowed)})
	var e *Error
	if secret != "" && errors.As(err, &e) {
		e.Description = strings.ReplaceAll(e.Description, secret, "<secret>")
	}
	return err
}

// DeleteWebhook removes the bot's webhook, so that getUpdates works again;
// pending updates are kept. Deleting none is not an error.
func (c *Client) DeleteWebhook(ctx context.Context) error {
	_, err := c.call(ctx, "deleteWebhook", tgbotapi.Params{"drop_pending_updates": "false"})
	return err
}

// GetWebhookInfo returns the bot's webhook (URL "" for none).
func (c *Client) GetWebhookInfo(ctx context.Context) (WebhookInfo, error) {
	res, err := c.call(ctx, "getWebhookInfo", tgbotapi.Params{})
	if err != nil {
		return WebhookInfo{}, err
	}
	var info WebhookInfo
	if err := json.Unmarshal(res, &info); err != nil {
		return WebhookInfo{}, &Error{Method: "getWebhookInfo", Retry: true, Reason: ReasonServerError,
			Description: "cannot decode result: " + err.Error()}
	}
	return info, nil
}
