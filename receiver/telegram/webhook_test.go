package telegram_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// SetWebhook, GetWebhookInfo and DeleteWebhook against the fake: the
// webhook blocks getUpdates (409) until deleted.
func TestWebhookCalls(t *testing.T) {
	srv := telegramtest.NewServer(t, token)
	c := newClient(t, srv.URL)
	ctx := context.Background()
	const hook, secret = "https://127.0.0.1:8443/telegram/updates", "Tok_en-1"
	if err := c.SetWebhook(ctx, hook, secret); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	w := srv.Webhook()
	if w == nil || w.URL != hook || w.SecretToken != secret || strings.Join(w.AllowedUpdates, ",") != "message,callback_query" {
		t.Fatalf("webhook: got %+v, want %s with the secret and the allowed updates", w, hook)
	}
	info, err := c.GetWebhookInfo(ctx)
	if err != nil || info.URL != hook {
		t.Errorf("GetWebhookInfo: got %+v, %v, want url %s", info, err, hook)
	}
	_, err = c.GetUpdates(ctx, 0, 0)
	var te *telegram.Error
	if !errors.As(err, &te) || te.Code != 409 {
		t.Errorf("GetUpdates with a webhook set: got %v, want a 409", err)
	}
	if err := c.DeleteWebhook(ctx); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	if info, err := c.GetWebhookInfo(ctx); err != nil || info.URL != "" {
		t.Errorf("GetWebhookInfo after DeleteWebhook: got %+v, %v, want no url", info, err)
	}
	if _, err := c.GetUpdates(ctx, 0, 0); err != nil {
		t.Errorf("GetUpdates after DeleteWebhook: %v", err)
	}
}

// A refused secret token is not repeated in the error.
func TestSetWebhookErrorHidesSecret(t *testing.T) {
	srv := telegramtest.NewServer(t, token)
	c := newClient(t, srv.URL)
	const secret = "not allowed: secret"
	err := c.SetWebhook(context.Background(), "https://127.0.0.1:8443/u", secret)
	e := checkError(t, err, telegram.ReasonBadRequest, false)
	if !strings.Contains(e.Description, "secret token contains unallowed characters") {
		t.Errorf("got %q, want the Bot API's reason", e.Description)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q repeats the secret token", err)
	}
	if err := c.SetWebhook(context.Background(), "", "x"); err == nil {
		t.Error("SetWebhook with no URL: got nil, want an error")
	}
}
