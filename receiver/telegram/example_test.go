package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/downtime-detector/downtime/receiver/telegram"
	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

func ExampleClient_Send() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fake := telegramtest.NewServerOn(l, "123:secret")
	defer fake.Close()

	c, err := telegram.New("123:secret", fake.URL, nil) // contacts nothing yet
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	id, err := c.Send(ctx, telegram.Message{ChatID: "-1001", Text: "🔴 <b>router</b> is down"})
	fmt.Println(id, err)

	// Resolved: a silent reply in the same chat, then edit the original.
	_, err = c.Send(ctx, telegram.Message{ChatID: "-1001", ReplyTo: id, Silent: true, Text: "✅ <b>router</b> is up after 12m"})
	fmt.Println(err)
	fmt.Println(c.Edit(ctx, "-1001", id, "✅ <s>router is down</s> resolved after 12m"))

	// Errors carry the retry decision.
	_, err = c.Send(ctx, telegram.Message{ChatID: "-1001", Text: "load < 5"})
	var e *telegram.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, e.Retry)
	}
	// Output:
	// 1 <nil>
	// <nil>
	// <nil>
	// parse_error false
}
