package render

import (
	"errors"
	"fmt"
	"html"
	"regexp"
	"strconv"
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

// Length measures s against MaxLength, safely above what Telegram counts:
// Telegram counts code points of the text after entity parsing; Length
// counts UTF-16 code units (an emoji counts 2) of the raw HTML (tags and
// character references count too).
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

// allowedTags are the tags of Telegram's HTML parse mode (tdlib's
// parse_html) that Validate accepts. tg-time is left out: its format
// attribute has rules of its own, and the receiver's messages have no use
// for it.
var allowedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true,
	"span": true, "tg-spoiler": true, "tg-emoji": true, "blockquote": true,
}

// Validate checks that Telegram's HTML parser (tdlib's parse_html, which the
// Bot API uses for parse_mode=HTML) accepts s, and is stricter where that
// costs nothing, so that text it passes is never refused:
//   - valid UTF-8 without NUL; '<', '>' and '&' only in tags and character
//     references (Telegram keeps a bare '>' or '&' as text);
//   - character references &lt; &gt; &amp; &quot; &#NN; &#xHH; with their
//     ';', naming a character other than NUL, a surrogate or U+10FFFF;
//   - only the tags above, nested properly, every one closed by its name
//     (Telegram also takes "</>"), end tags without attributes;
//   - attribute names of letters and '-', values quoted (without '<' or
//     '>') or a token of letters, digits, '.' and '-';
//   - <span> only as class="tg-spoiler", <tg-emoji> only with a positive
//     numeric emoji-id (Telegram checks it only when the tag is not empty).
//
// Telegram's whitespace in tags is space, \t, \n, \r and \v (not \f).
func Validate(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	var stack []string
	for i := 0; i < len(s); {
		switch s[i] {
		case 0:
			return fmt.Errorf("offset %d: NUL character", i)
		case '<':
			t, err := readTag(s, i)
			if err != nil {
				return err
			}
			if t.closing {
				if len(stack) == 0 || stack[len(stack)-1] != t.name {
					return fmt.Errorf("offset %d: unexpected </%s>", i, t.name)
				}
				stack = stack[:len(stack)-1]
			} else {
				stack = append(stack, t.name)
			}
			i = t.end
		case '>':
			return fmt.Errorf("offset %d: bare '>'", i)
		case '&':
			n := charRef(s[i:])
			if n == 0 {
				return fmt.Errorf("offset %d: bare '&' or unknown entity", i)
			}
			i += n
		default:
			i++
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed <%s>", stack[len(stack)-1])
	}
	return nil
}

// tag is a start or end tag read by readTag.
type tag struct {
	name    string // lower case
	closing bool
	end     int // offset after '>'
}

func isTagSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' }

func isNameByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' }

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

// readTag reads the tag at s[begin] == '<' and checks its attributes.
func readTag(s string, begin int) (tag, error) {
	bad := fmt.Errorf("offset %d: bad tag or bare '<'", begin)
	at := func(i int) byte { // 0 past the end, like tdlib's C string
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	t := tag{}
	i := begin + 1
	if at(i) == '/' {
		t.closing = true
		i++
	}
	start := i
	for isNameByte(at(i)) {
		i++
	}
	t.name = strings.ToLower(s[start:i])
	if !allowedTags[t.name] {
		return t, bad
	}
	if t.closing {
		for isTagSpace(at(i)) {
			i++
		}
		if at(i) != '>' {
			return t, bad
		}
		t.end = i + 1
		return t, nil
	}
	if !isTagSpace(at(i)) && at(i) != '>' {
		return t, bad
	}
	var spoiler, emojiID string
	for {
		for isTagSpace(at(i)) {
			i++
		}
		if at(i) == '>' {
			break
		}
		start := i
		for isNameByte(at(i)) {
			i++
		}
		attr := s[start:i]
		if attr == "" {
			return t, fmt.Errorf("offset %d: bad attribute in <%s>", start, t.name)
		}
		for isTagSpace(at(i)) {
			i++
		}
		if at(i) != '=' {
			continue // an attribute without value; at(i) is checked next round
		}
		i++
		for isTagSpace(at(i)) {
			i++
		}
		value, next, ok := attrValue(s, i)
		if !ok {
			return t, fmt.Errorf("offset %d: bad value of attribute %q in <%s>", i, attr, t.name)
		}
		i = next
		switch {
		case t.name == "span" && attr == "class" && strings.HasPrefix(value, "tg-"):
			spoiler = value // tdlib keeps the last class starting with "tg-"
		case t.name == "tg-emoji" && attr == "emoji-id":
			emojiID = value
		}
	}
	if t.name == "span" && spoiler != "tg-spoiler" {
		return t, fmt.Errorf(`offset %d: <span> must have class="tg-spoiler"`, begin)
	}
	if id, err := strconv.ParseInt(emojiID, 10, 64); t.name == "tg-emoji" &&
		(err != nil || id <= 0 || emojiID[0] == '+') {
		return t, fmt.Errorf("offset %d: <tg-emoji> needs a positive numeric emoji-id, got %q", begin, emojiID)
	}
	t.end = i + 1
	return t, nil
}

// attrValue reads a quoted value or a name token at s[i] and returns it
// (a token in lower case, as tdlib reads it) with the offset after it. A
// quoted value's character references must be valid too; they are not
// decoded (a value that needs them is refused where its content matters).
func attrValue(s string, i int) (value string, next int, ok bool) {
	if i >= len(s) {
		return "", i, false
	}
	if q := s[i]; q == '"' || q == '\'' {
		end := strings.IndexByte(s[i+1:], q)
		if end < 0 {
			return "", i, false
		}
		value = s[i+1 : i+1+end]
		if strings.ContainsAny(value, "<>\x00") {
			return "", i, false
		}
		for j := 0; j < len(value); j++ {
			if value[j] == '&' && charRef(value[j:]) == 0 {
				return "", i, false
			}
		}
		return value, i + 1 + end + 1, true
	}
	start := i
	for i < len(s) && isTokenByte(s[i]) {
		i++
	}
	if i == start || i >= len(s) || !isTagSpace(s[i]) && s[i] != '>' {
		return "", i, false
	}
	return strings.ToLower(s[start:i]), i, true
}

// charRef returns the length of the character reference at the start of s,
// or 0 if it is not one Telegram decodes to an allowed character.
func charRef(s string) int {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 9 {
		return 0
	}
	name := s[1:end]
	switch name {
	case "lt", "gt", "amp", "quot":
		return end + 1
	}
	digits, base := strings.TrimPrefix(name, "#"), 10
	if digits == name || digits == "" {
		return 0
	}
	if digits[0] == 'x' { // tdlib reads "&#X" as text, not as a reference
		digits, base = digits[1:], 16
	}
	for _, c := range digits {
		if !(c >= '0' && c <= '9' || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return 0
		}
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil || v == 0 || v >= 0x10ffff || v >= 0xd800 && v <= 0xdfff {
		return 0
	}
	return end + 1
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
