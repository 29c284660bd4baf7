package config

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	commoncfg "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"
)

// WebhookAuth is the optional authentication of incoming webhooks, written
// like the http_config of the Alertmanager webhook_config that calls us.
// When several credentials are configured, a request carrying any one of
// them is accepted. Nothing configured: no authentication.
type WebhookAuth struct {
	BasicAuth       *BasicAuth       `yaml:"basic_auth,omitempty"`
	BearerToken     commoncfg.Secret `yaml:"bearer_token,omitempty"`
	BearerTokenFile string           `yaml:"bearer_token_file,omitempty"`
	Authorization   *Authorization   `yaml:"authorization,omitempty"`
	// Disabled says in so many words that webhooks need no credentials. A
	// reload that removes every credential is refused without it (see
	// CheckReload); it cannot be combined with credentials.
	Disabled bool `yaml:"disabled,omitempty"`

	bearerFromFile commoncfg.Secret
	fileLine       int
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	Username     string           `yaml:"username"`
	Password     commoncfg.Secret `yaml:"password,omitempty"`
	PasswordFile string           `yaml:"password_file,omitempty"`

	fromFile commoncfg.Secret
	fileLine int
}

// Authorization is an Authorization header "<type> <credentials>".
type Authorization struct {
	// Type defaults to "Bearer".
	Type            string           `yaml:"type,omitempty"`
	Credentials     commoncfg.Secret `yaml:"credentials,omitempty"`
	CredentialsFile string           `yaml:"credentials_file,omitempty"`

	fromFile commoncfg.Secret
	fileLine int
}

// UnmarshalYAML decodes strictly and validates.
func (a *WebhookAuth) UnmarshalYAML(node *yaml.Node) error {
	type plain WebhookAuth
	if err := decodeStrict(node, (*plain)(a), "webhook_auth"); err != nil {
		return err
	}
	a.fileLine = lineOf(node, "bearer_token_file")
	if a.BearerToken != "" && a.BearerTokenFile != "" {
		return atLine(node, "webhook_auth: \"bearer_token\" and \"bearer_token_file\" are mutually exclusive")
	}
	if (a.BearerToken != "" || a.BearerTokenFile != "") && a.Authorization != nil {
		return atLine(node, "webhook_auth: \"bearer_token\"/\"bearer_token_file\" and \"authorization\" are mutually exclusive")
	}
	if a.Disabled && a.Enabled() {
		return atLine(field(node, "disabled"), "webhook_auth: \"disabled\" cannot be combined with credentials")
	}
	return nil
}

// UnmarshalYAML decodes strictly and validates.
func (b *BasicAuth) UnmarshalYAML(node *yaml.Node) error {
	type plain BasicAuth
	if err := decodeStrict(node, (*plain)(b), "webhook_auth: basic_auth"); err != nil {
		return err
	}
	b.fileLine = lineOf(node, "password_file")
	if b.Username == "" {
		return atLine(node, "webhook_auth: basic_auth: \"username\" is required")
	}
	if b.Password != "" && b.PasswordFile != "" {
		return atLine(node, "webhook_auth: basic_auth: \"password\" and \"password_file\" are mutually exclusive")
	}
	if b.Password == "" && b.PasswordFile == "" {
		return atLine(node, "webhook_auth: basic_auth: \"password\" or \"password_file\" is required")
	}
	return nil
}

// UnmarshalYAML decodes strictly and validates.
func (z *Authorization) UnmarshalYAML(node *yaml.Node) error {
	type plain Authorization
	*z = Authorization{Type: "Bearer"}
	if err := decodeStrict(node, (*plain)(z), "webhook_auth: authorization"); err != nil {
		return err
	}
	z.fileLine = lineOf(node, "credentials_file")
	if strings.ContainsAny(z.Type, " \t") || strings.EqualFold(z.Type, "basic") {
		return atLine(field(node, "type"), "webhook_auth: authorization: invalid \"type\" %q (use basic_auth for Basic)", z.Type)
	}
	if z.Credentials != "" && z.CredentialsFile != "" {
		return atLine(node, "webhook_auth: authorization: \"credentials\" and \"credentials_file\" are mutually exclusive")
	}
	if z.Credentials == "" && z.CredentialsFile == "" {
		return atLine(node, "webhook_auth: authorization: \"credentials\" or \"credentials_file\" is required")
	}
	return nil
}

func (a *WebhookAuth) readFiles(dir string) error {
	var err error
	read := func(name, field string, line int) commoncfg.Secret {
		if name == "" || err != nil {
			return ""
		}
		var s string
		if s, err = readSecretFile(dir, name); err != nil {
			err = withLine(line, fmt.Errorf("webhook_auth: %s: %w", field, err))
		}
		return commoncfg.Secret(s)
	}
	a.bearerFromFile = read(a.BearerTokenFile, `"bearer_token_file"`, a.fileLine)
	if b := a.BasicAuth; b != nil {
		b.fromFile = read(b.PasswordFile, `basic_auth: "password_file"`, b.fileLine)
	}
	if z := a.Authorization; z != nil {
		z.fromFile = read(z.CredentialsFile, `authorization: "credentials_file"`, z.fileLine)
	}
	return err
}

// Enabled reports whether any credential is configured.
func (a WebhookAuth) Enabled() bool {
	return a.BasicAuth != nil || a.Authorization != nil || a.BearerToken != "" || a.BearerTokenFile != ""
}

// Authorized reports whether r carries a configured credential (always true
// when none is configured). Comparisons are constant-time.
func (a WebhookAuth) Authorized(r *http.Request) bool {
	if !a.Enabled() {
		return true
	}
	if b := a.BasicAuth; b != nil {
		if u, p, ok := r.BasicAuth(); ok && equal(u, b.Username) && equal(p, pick(b.Password, b.fromFile)) {
			return true
		}
	}
	typ, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || cred == "" {
		return false
	}
	if tok := pick(a.BearerToken, a.bearerFromFile); tok != "" && strings.EqualFold(typ, "Bearer") && equal(cred, tok) {
		return true
	}
	if z := a.Authorization; z != nil && strings.EqualFold(typ, z.scheme()) && equal(cred, pick(z.Credentials, z.fromFile)) {
		return true
	}
	return false
}

// Realm is the realm of the receiver's WWW-Authenticate challenges.
const Realm = "downtime_receiver"

// Challenges are the WWW-Authenticate values of a 401: one per configured
// scheme.
func (a WebhookAuth) Challenges() []string {
	var c []string
	if a.BasicAuth != nil {
		c = append(c, `Basic realm="`+Realm+`"`)
	}
	if a.BearerToken != "" || a.BearerTokenFile != "" {
		c = append(c, `Bearer realm="`+Realm+`"`)
	}
	if z := a.Authorization; z != nil {
		c = append(c, z.scheme()+` realm="`+Realm+`"`)
	}
	return c
}

// Apply sets one configured credential on an outgoing request (the
// dead-letters command talking to a running receiver). Nothing configured:
// r is unchanged.
func (a WebhookAuth) Apply(r *http.Request) {
	switch {
	case a.BasicAuth != nil:
		r.SetBasicAuth(a.BasicAuth.Username, pick(a.BasicAuth.Password, a.BasicAuth.fromFile))
	case a.BearerToken != "" || a.BearerTokenFile != "":
		r.Header.Set("Authorization", "Bearer "+pick(a.BearerToken, a.bearerFromFile))
	case a.Authorization != nil:
		r.Header.Set("Authorization", a.Authorization.scheme()+" "+pick(a.Authorization.Credentials, a.Authorization.fromFile))
	}
}

// scheme is Type, "Bearer" when unset.
func (z *Authorization) scheme() string {
	if z.Type == "" {
		return "Bearer"
	}
	return z.Type
}

func pick(inline, fromFile commoncfg.Secret) string {
	if inline != "" {
		return string(inline)
	}
	return string(fromFile)
}

func equal(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// String prints the section as YAML with secrets hidden.
func (a WebhookAuth) String() string { return marshalString(a) }

// GoString is String.
func (a WebhookAuth) GoString() string { return a.String() }

// String prints the section as YAML with the password hidden.
func (b BasicAuth) String() string { return marshalString(b) }

// GoString is String.
func (b BasicAuth) GoString() string { return b.String() }

// String prints the section as YAML with the credentials hidden.
func (z Authorization) String() string { return marshalString(z) }

// GoString is String.
func (z Authorization) GoString() string { return z.String() }

// MarshalYAML hides secrets whatever commoncfg.MarshalSecretValue says.
func (a WebhookAuth) MarshalYAML() (any, error) {
	type plain WebhookAuth
	p := plain(a)
	p.BearerToken = hide(p.BearerToken)
	return p, nil
}

// MarshalYAML hides secrets whatever commoncfg.MarshalSecretValue says.
func (b BasicAuth) MarshalYAML() (any, error) {
	type plain BasicAuth
	p := plain(b)
	p.Password = hide(p.Password)
	return p, nil
}

// MarshalYAML hides secrets whatever commoncfg.MarshalSecretValue says.
func (z Authorization) MarshalYAML() (any, error) {
	type plain Authorization
	p := plain(z)
	p.Credentials = hide(p.Credentials)
	return p, nil
}
