package config

import (
	"errors"

	"gopkg.in/yaml.v3"
)

// ErrNoDocument is returned for a config file with no configuration in it:
// empty, only comments, a bare "---" or null. Such a file is most likely a
// truncated write or a template that rendered nothing; taking it as "all
// defaults" would turn webhook authentication off and drop every route, so
// it is refused. "{}" is the way to ask for every default.
var ErrNoDocument = errors.New(`no configuration in the file (it is empty, only comments, "---" or null): ` +
	`refusing it; write "{}" to accept every default`)

// checkDocument refuses a decoded root node that holds no document.
func checkDocument(root *yaml.Node) error {
	if root.Kind == 0 || len(root.Content) == 0 {
		return ErrNoDocument
	}
	doc := root
	if root.Kind == yaml.DocumentNode {
		doc = root.Content[0]
	}
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return ErrNoDocument
	}
	return nil
}
