package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxParentDepth is how many ancestors a target may have (parent,
// grandparent, ...). The alert rules (rules/downtime.rules.yml) follow a
// chain that far with one PromQL join per level; a longer chain would let a
// host behind a dead router report its own HostDown, so it is refused here.
const MaxParentDepth = 3

// setParentLine records where the defaults set "parent", for errors about
// targets that inherit it.
func (d *Defaults) setParentLine(n *yaml.Node) {
	if k := keyOf(n, "parent"); k != nil {
		d.parentLine = k.Line
	}
}

// setParentLine records where the target sets "parent" itself, if it does.
func (t *Target) setParentLine(n *yaml.Node) {
	if k := keyOf(n, "parent"); k != nil {
		t.ParentLine = k.Line
	}
}

// checkParents validates every target's parent: it must be another
// configured target, and following parents must end, within MaxParentDepth
// steps. A target that is itself the defaults' parent does not inherit it.
func (c *Config) checkParents() error {
	byHost := make(map[string]*Target, len(c.Targets))
	for i := range c.Targets {
		t := &c.Targets[i]
		if t.Parent == t.Host && t.Parent == c.Defaults.Parent && t.ParentLine == c.Defaults.parentLine {
			t.Parent, t.ParentLine = "", 0 // the defaults' parent itself
		}
		byHost[t.Host] = t
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		if t.Parent == "" {
			continue
		}
		if byHost[t.Parent] == nil {
			return fmt.Errorf("%s%q: %q of target %q is not a configured target", lineOf(t.ParentLine), "parent", t.Parent, t.Host)
		}
		chain := []string{t.Host}
		for p := byHost[t.Parent]; p != nil; p = byHost[p.Parent] {
			for _, h := range chain {
				if h == p.Host {
					return fmt.Errorf("%s%q: cycle %s -> %s", lineOf(t.ParentLine), "parent", strings.Join(chain, " -> "), p.Host)
				}
			}
			chain = append(chain, p.Host)
			if len(chain) > MaxParentDepth+1 {
				return fmt.Errorf("%s%q: chain %s is longer than %d levels (the alert rules follow at most %d)",
					lineOf(t.ParentLine), "parent", strings.Join(chain, " -> "), MaxParentDepth, MaxParentDepth)
			}
		}
	}
	return nil
}

func lineOf(l int) string {
	if l == 0 {
		return ""
	}
	return fmt.Sprintf("line %d: ", l)
}
