package chat

import (
	"errors"
	"fmt"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Command names.
const (
	CmdStatus   = "status"
	CmdSilences = "silences"
	CmdHelp     = "help"
)

// Commands is the list for setMyCommands, in menu order.
func Commands() []tgbotapi.BotCommand {
	return []tgbotapi.BotCommand{
		{Command: CmdStatus, Description: "What is down now, since when, silenced or acknowledged by whom"},
		{Command: CmdSilences, Description: "Active silences, with unsilence buttons"},
		{Command: CmdHelp, Description: "What the buttons and commands do"},
	}
}

// Command is a parsed command message.
type Command struct {
	Name string // one of the Cmd constants
	Args string // the rest of the message, trimmed
}

// ErrUnknownCommand: a command addressed to us that we do not have; answer
// with /help.
var ErrUnknownCommand = errors.New("unknown command")

// ParseCommand reads a message text. ok is false when the message is not a
// command for this bot: plain text, or "/cmd@otherbot" in a group (Telegram
// delivers those to every bot with privacy mode off). botUsername is the
// bot's own username, without "@"; the match is case-insensitive.
func ParseCommand(text, botUsername string) (cmd Command, ok bool, err error) {
	if !strings.HasPrefix(text, "/") {
		return Command{}, false, nil
	}
	word, rest, _ := strings.Cut(text[1:], " ")
	if i := strings.IndexAny(word, "\n\t"); i >= 0 {
		word, rest = word[:i], word[i+1:]+" "+rest
	}
	name, target, addressed := strings.Cut(word, "@")
	if addressed && !strings.EqualFold(target, strings.TrimPrefix(botUsername, "@")) {
		return Command{}, false, nil
	}
	cmd = Command{Name: strings.ToLower(name), Args: strings.TrimSpace(rest)}
	switch cmd.Name {
	case CmdStatus, CmdSilences, CmdHelp:
		return cmd, true, nil
	case "start":
		// Telegram sends /start when a user opens a private chat with the bot.
		cmd.Name = CmdHelp
		return cmd, true, nil
	case "":
		return Command{}, false, nil
	}
	return cmd, true, fmt.Errorf("%w /%s; try /%s", ErrUnknownCommand, clip(name), CmdHelp)
}
