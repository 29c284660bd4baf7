package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/downtime-detector/downtime/receiver/telegram"
)

// testMessage sends one message to the default chat or to --route's chat.
func testMessage(ctx context.Context, opts *options) error {
	cfg, _, err := loadConfig(opts)
	if err != nil {
		return err
	}
	rt, err := cfg.Route(opts.route, "", nil)
	if err != nil {
		return fmt.Errorf("choosing the chat for the test message: %w", err)
	}
	sender, err := newSender(opts, cfg)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("✅ <b>%s test message</b>\nSent %s. Alerts for this chat will look like the messages below this one.",
		program, opts.now().In(cfg.Location()).Format(cfg.Format()))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id, err := sender.Send(ctx, telegram.Message{ChatID: rt.ChatID, ThreadID: rt.ThreadID, Text: text})
	if err != nil {
		return fmt.Errorf("sending the test message to chat %s: %w", rt.ChatID, err)
	}
	fmt.Fprintf(opts.stdout, "test message %d sent to chat %s\n", id, rt.ChatID)
	return nil
}

// listChats prints the chats and topics in the bot's pending updates.
func listChats(ctx context.Context, opts *options) error {
	cfg, _, err := loadConfig(opts)
	if err != nil {
		return err
	}
	c, err := telegram.New(cfg.Telegram.Token(), opts.apiURL, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bot, err := c.GetMe(ctx)
	if err != nil {
		return fmt.Errorf("checking the bot token: %w", err)
	}
	chats, err := c.Chats(ctx)
	if err != nil {
		return fmt.Errorf("listing chats: %w", err)
	}
	if len(chats) == 0 {
		fmt.Fprintf(opts.stdout, "@%s has seen no chats yet: add it to the group (or write to it) and send a message there, then run this again.\n", bot)
		return nil
	}
	tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CHAT_ID\tTYPE\tTITLE\tUSERNAME\tMESSAGE_THREAD_ID\tTOPIC\n")
	for _, ch := range chats {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", ch.ID, ch.Type, ch.Title, at(ch.Username), thread(ch.ThreadID), ch.Topic)
	}
	return tw.Flush()
}

func at(u string) string {
	if u == "" {
		return ""
	}
	return "@" + u
}

func thread(id int) string {
	if id == 0 {
		return ""
	}
	return fmt.Sprint(id)
}
