package config

import (
	"fmt"
	"maps"
	"os"
	"slices"

	"gopkg.in/yaml.v3"
)

// Templates overrides the built-in message templates. Each kind is either
// inline Go template text or a file (path relative to the config file);
// empty means the built-in template. receiver/render parses them: run
// render.New at load time to report template errors.
type Templates struct {
	Firing            string `yaml:"firing,omitempty"`
	FiringFile        string `yaml:"firing_file,omitempty"`
	Reminder          string `yaml:"reminder,omitempty"`
	ReminderFile      string `yaml:"reminder_file,omitempty"`
	FinalReminder     string `yaml:"final_reminder,omitempty"`
	FinalReminderFile string `yaml:"final_reminder_file,omitempty"`
	Resolved          string `yaml:"resolved,omitempty"`
	ResolvedFile      string `yaml:"resolved_file,omitempty"`
	ResolvedEdit      string `yaml:"resolved_edit,omitempty"`
	ResolvedEditFile  string `yaml:"resolved_edit_file,omitempty"`
	HeartbeatLost     string `yaml:"heartbeat_lost,omitempty"`
	HeartbeatLostFile string `yaml:"heartbeat_lost_file,omitempty"`
	HeartbeatBack     string `yaml:"heartbeat_back,omitempty"`
	HeartbeatBackFile string `yaml:"heartbeat_back_file,omitempty"`

	loaded map[string]string // name -> contents of its *_file
	lines  map[string]int    // name -> line of its *_file
}

// pairs returns name -> (inline, file) for every kind of message: the
// kinds themselves are render.Kinds (render's tests check that every kind
// has its pair here).
func (t *Templates) pairs() map[string][2]*string {
	return map[string][2]*string{
		"firing":         {&t.Firing, &t.FiringFile},
		"reminder":       {&t.Reminder, &t.ReminderFile},
		"final_reminder": {&t.FinalReminder, &t.FinalReminderFile},
		"resolved":       {&t.Resolved, &t.ResolvedFile},
		"resolved_edit":  {&t.ResolvedEdit, &t.ResolvedEditFile},
		"heartbeat_lost": {&t.HeartbeatLost, &t.HeartbeatLostFile},
		"heartbeat_back": {&t.HeartbeatBack, &t.HeartbeatBackFile},
	}
}

// UnmarshalYAML decodes strictly and validates.
func (t *Templates) UnmarshalYAML(node *yaml.Node) error {
	type plain Templates
	if err := decodeStrict(node, (*plain)(t), "templates"); err != nil {
		return err
	}
	t.lines = map[string]int{}
	for _, name := range t.names() {
		t.lines[name] = lineOf(node, name+"_file")
		p := t.pairs()[name]
		if *p[0] != "" && *p[1] != "" {
			return atLine(field(node, name), "templates: %q and \"%s_file\" are mutually exclusive", name, name)
		}
	}
	return nil
}

func (t *Templates) readFiles(dir string) error {
	for _, name := range t.names() {
		file := *t.pairs()[name][1]
		if file == "" {
			continue
		}
		b, err := os.ReadFile(resolvePath(dir, file))
		if err != nil {
			return withLine(t.lines[name], fmt.Errorf("templates: \"%s_file\": %w", name, err))
		}
		if t.loaded == nil {
			t.loaded = map[string]string{}
		}
		t.loaded[name] = string(b)
	}
	return nil
}

// Source returns the user's template for name (a render.Kind) and
// where it comes from ("templates.<name>" or the file path); text "" means
// use the built-in template.
func (t Templates) Source(name string) (text, origin string) {
	p, ok := t.pairs()[name]
	if !ok {
		return "", ""
	}
	if *p[0] != "" {
		return *p[0], "templates." + name
	}
	if *p[1] != "" {
		if s, ok := t.loaded[name]; ok {
			return s, *p[1]
		}
		// Built without Load: read it now, relative to the working directory.
		if b, err := os.ReadFile(*p[1]); err == nil {
			return string(b), *p[1]
		}
	}
	return "", ""
}

// names are the template names in a fixed order, so the first error
// reported is always the same.
func (t *Templates) names() []string {
	return slices.Sorted(maps.Keys(t.pairs()))
}
