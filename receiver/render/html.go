package render

import (
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"
	"unicode/utf8"
)

// escaper escapes what Telegram requires (<, >, &) and " so values are safe
// inside attributes too (href="..."), using only entities Telegram knows.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\x00", "")

// Escape HTML-escapes s for Telegram's HTML parse mode (&, <, > and ").
// Invalid UTF-8 becomes U+FFFD and NUL bytes are dropped: Telegram rejects
// both.
func Escape(s string) string {
	return escaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// Length counts s the way Telegram limits messages, in UTF-16 code units,
// conservatively on the raw HTML (tags and entities count too).
func Length(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// truncate cuts s to at most max runes, marking the cut with "…"
// (max <= 0: no limit). It works on raw values, before escaping, so it
// never splits a tag or an entity.
func truncate(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// allowedTags are the tags Telegram's HTML parse mode accepts.
var allowedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true,
	"span": true, "tg-spoiler": true, "tg-emoji": true, "blockquote": true,
}

var (
	tagRE    = regexp.MustCompile(`^<(/?)([a-zA-Z-]+)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>]+))?)*)\s*>`)
	entityRE = regexp.MustCompile(`^&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});`)
)

// Validate checks that s is well-formed Telegram HTML: valid UTF-8, only
// allowed tags, properly nested and closed, no bare '<', '>' or '&', only
// the entities Telegram knows.
func Validate(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	var stack []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			m := tagRE.FindStringSubmatch(s[i:])
			if m != nil {
				m[2] = strings.ToLower(m[2])
			}
			if m == nil || !allowedTags[m[2]] {
				return fmt.Errorf("offset %d: bad tag or bare '<'", i)
			}
			if m[1] == "/" {
				if len(stack) == 0 || stack[len(stack)-1] != m[2] {
					return fmt.Errorf("offset %d: unexpected </%s>", i, m[2])
				}
				stack = stack[:len(stack)-1]
			} else {
				stack = append(stack, m[2])
			}
			i += len(m[0])
		case '>':
			return fmt.Errorf("offset %d: bare '>'", i)
		case '&':
			m := entityRE.FindString(s[i:])
			if m == "" {
				return fmt.Errorf("offset %d: bare '&' or unknown entity", i)
			}
			i += len(m)
		default:
			i++
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed <%s>", stack[len(stack)-1])
	}
	return nil
}

var anyTagRE = regexp.MustCompile(`<[^<>]*>`)

// plainTruncate is the last resort for a block that does not fit even with
// truncated values: its text without tags, escaped, cut to limit units.
func plainTruncate(s string, limit int) string {
	text := html.UnescapeString(anyTagRE.ReplaceAllString(s, ""))
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(text, "\uFFFD") {
		e := Escape(string(r))
		if n+Length(e) > limit-1 {
			b.WriteString("…")
			break
		}
		b.WriteString(e)
		n += Length(e)
	}
	return b.String()
}
