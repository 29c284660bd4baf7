package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"gopkg.in/yaml.v3"
)

// decodeStrict decodes node into v (a pointer to a struct) and rejects keys
// v does not have. yaml.v3's Node.Decode does not inherit the decoder's
// KnownFields, so every struct's UnmarshalYAML checks its own keys here.
// section names the part of the file in errors.
func decodeStrict(node *yaml.Node, v any, section string) error {
	if node.Kind != yaml.MappingNode {
		return atLine(node, "%s: expected a mapping, got %s", section, kindName(node))
	}
	known := yamlKeys(reflect.TypeOf(v).Elem())
	for i := 0; i+1 < len(node.Content); i += 2 {
		k := node.Content[i]
		if !known[k.Value] {
			return atLine(k, "%s: unknown field %q", section, k.Value)
		}
	}
	return nameFields(node, section, node.Decode(v))
}

var lineRE = regexp.MustCompile(`^line (\d+): `)

// nameFields adds the section and the key to yaml.v3's type errors
// ("line 4: cannot unmarshal ..." -> "line 4: telegram: "message_thread_id":
// cannot unmarshal ...") and makes them one line.
func nameFields(node *yaml.Node, section string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	for i, m := range te.Errors {
		sm := lineRE.FindStringSubmatch(m)
		if sm == nil || !strings.HasPrefix(m[len(sm[0]):], "cannot unmarshal") {
			continue
		}
		line, _ := strconv.Atoi(sm[1])
		key := ""
		for j := 0; j+1 < len(node.Content); j += 2 { // the last key at or above the line
			if k := node.Content[j]; k.Line <= line {
				key = k.Value
			}
		}
		if key != "" {
			te.Errors[i] = fmt.Sprintf("%s%s: %q: %s", sm[0], section, key, m[len(sm[0]):])
		}
	}
	return cleanYAMLError(te)
}

// checkDurations checks a list of durations before decoding, so that a bad
// one is reported with its line (model.Duration's own error has none).
func checkDurations(node *yaml.Node, section string) error {
	if node.Kind != yaml.SequenceNode {
		return nil // decoding reports the type error
	}
	for _, n := range node.Content {
		if _, err := model.ParseDuration(n.Value); err != nil || n.Kind != yaml.ScalarNode {
			return atLine(n, "%s: \"after\": invalid duration %q (use 90s, 10m, 1h, 1d)", section, n.Value)
		}
	}
	return nil
}

func kindName(node *yaml.Node) string {
	switch node.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", node.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

func yamlKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys[name] = true
	}
	return keys
}

var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// cleanYAMLError turns yaml.v3's multi-line "unmarshal errors" into one line.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = unknownFieldRE.ReplaceAllString(m, `unknown field "$1"`)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// atLine formats an error located at node.
func atLine(node *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("line %d: %w", node.Line, fmt.Errorf(format, args...))
}

// lineOf returns the line of key's value in a mapping node, 0 if absent.
func lineOf(node *yaml.Node, key string) int {
	if f := field(node, key); f != node {
		return f.Line
	}
	return 0
}

// withLine prefixes err with "line N: " when the line is known.
func withLine(line int, err error) error {
	if line > 0 {
		return fmt.Errorf("line %d: %w", line, err)
	}
	return err
}

// field returns the value node of key in a mapping node, or node itself.
func field(node *yaml.Node, key string) *yaml.Node {
	if node.Kind != yaml.MappingNode {
		return node
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return node.Content[i+1]
		}
	}
	return node
}

// UnmarshalYAML applies the defaults, decodes strictly and validates.
func (c *Config) UnmarshalYAML(node *yaml.Node) error {
	*c = DefaultConfig()
	type plain Config
	if err := decodeStrict(node, (*plain)(c), "config"); err != nil {
		return err
	}
	loc, err := loadLocation(c.Timezone)
	if err != nil {
		return atLine(field(node, "timezone"), "invalid \"timezone\" %q: %w", c.Timezone, err)
	}
	c.loc = loc
	c.routesSet = lineOf(node, "routes") > 0
	if err := checkTimeFormat(c.TimeFormat); err != nil {
		return atLine(field(node, "time_format"), "%w", err)
	}
	return c.checkRoutes(field(node, "routes"))
}

func checkTimeFormat(layout string) error {
	if layout == "" {
		return errors.New("\"time_format\" must not be empty")
	}
	ref := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if ref.Format(layout) == layout {
		return fmt.Errorf("\"time_format\" %q has no date or time fields (use a Go layout like %q)", layout, DefaultTimeFormat)
	}
	return nil
}

// UnmarshalYAML decodes strictly and validates the telegram section.
func (t *Telegram) UnmarshalYAML(node *yaml.Node) error {
	type plain Telegram
	if err := decodeStrict(node, (*plain)(t), "telegram"); err != nil {
		return err
	}
	t.fileLine = lineOf(node, "bot_token_file")
	for i := 0; i+1 < len(node.Content); i += 2 { // the "digest:" key, for an error after the merge
		if node.Content[i].Value == "digest" {
			t.digestLine = node.Content[i].Line
		}
	}
	if t.BotToken != "" && t.BotTokenFile != "" {
		return atLine(node, "telegram: \"bot_token\" and \"bot_token_file\" are mutually exclusive")
	}
	if t.ChatID != "" {
		if err := checkChatID(t.ChatID); err != nil {
			return atLine(field(node, "chat_id"), "telegram: \"chat_id\": %w", err)
		}
	}
	if err := checkThreadID(t.MessageThreadID); err != nil {
		return atLine(field(node, "message_thread_id"), "telegram: %w", err)
	}
	return nil
}

// UnmarshalYAML applies the default schedule, decodes strictly and checks
// the schedule.
func (r *Reminders) UnmarshalYAML(node *yaml.Node) error {
	*r = DefaultReminders()
	if err := checkDurations(field(node, "after"), "reminders"); err != nil {
		return err
	}
	type plain Reminders
	if err := decodeStrict(node, (*plain)(r), "reminders"); err != nil {
		return err
	}
	return checkAfter(field(node, "after"), r.After, "reminders")
}
