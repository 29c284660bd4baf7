package render

import (
	"os"
	"strings"
	"testing"

	"github.com/downtime-detector/downtime/receiver/telegram/telegramtest"
)

// TestREADMESample: the sample messages in the top README are what the
// built-in templates send (the golden files), as a user sees them.
func TestREADMESample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```\n🔴 db1.example.com is down")
	sample, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md: no sample message block starting with \"🔴 db1.example.com is down\"")
	}
	sample = "🔴 db1.example.com is down" + strings.ReplaceAll(sample, "~~", "") // ~~ marks struck-through text
	for _, name := range []string{"firing", "resolved", "resolved_edit"} {
		raw, err := os.ReadFile("testdata/" + name + ".golden")
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := strings.Cut(string(raw), "\n") // after the "----- message" line
		plain, _, err := telegramtest.ParseHTML(strings.TrimSpace(body))
		if err != nil {
			t.Fatalf("%s.golden: %v", name, err)
		}
		if !strings.Contains(sample, plain) {
			t.Errorf("README.md sample lacks the %s message as sent:\n%s\n--- sample:\n%s", name, plain, sample)
		}
	}
}
