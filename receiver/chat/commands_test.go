package chat

import (
	"errors"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		text    string
		name    string
		args    string
		ok      bool
		unknown bool
	}{
		{"/status", CmdStatus, "", true, false},
		{"/status@DowntimeBot", CmdStatus, "", true, false},
		{"/status@downtimebot ops", CmdStatus, "ops", true, false},
		{"/STATUS", CmdStatus, "", true, false},
		{"/silences", CmdSilences, "", true, false},
		{"/help", CmdHelp, "", true, false},
		{"/start", CmdHelp, "", true, false},
		{"/status\nplease", CmdStatus, "please", true, false},
		{"/status@OtherBot", "", "", false, false},
		{"/frobnicate", "frobnicate", "", true, true},
		{"status", "", "", false, false},
		{"/", "", "", false, false},
		{"", "", "", false, false},
		{"hello /status", "", "", false, false},
	} {
		t.Run(tc.text, func(t *testing.T) {
			c, ok, err := ParseCommand(tc.text, "DowntimeBot")
			if ok != tc.ok || c.Name != tc.name || c.Args != tc.args {
				t.Errorf("got %+v ok=%v, want name %q args %q ok=%v", c, ok, tc.name, tc.args, tc.ok)
			}
			if errors.Is(err, ErrUnknownCommand) != tc.unknown {
				t.Errorf("err %v, want unknown=%v", err, tc.unknown)
			}
		})
	}
}

func TestCommandsList(t *testing.T) {
	cs := Commands()
	if len(cs) != 3 {
		t.Fatalf("got %d commands, want 3", len(cs))
	}
	for _, c := range cs {
		// Telegram: 1-32 chars of a-z0-9_, description 1-256 chars.
		if got, ok, err := ParseCommand("/"+c.Command, "b"); !ok || err != nil || got.Name != c.Command {
			t.Errorf("command %q does not parse back: %+v %v %v", c.Command, got, ok, err)
		}
		if len(c.Description) == 0 || len(c.Description) > 256 {
			t.Errorf("%s: description length %d", c.Command, len(c.Description))
		}
	}
}
