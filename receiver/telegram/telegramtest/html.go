package telegramtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Entity is one formatting entity found by ParseHTML; Offset and Length are
// in UTF-16 code units of the plain text, as in the Bot API.
type Entity struct {
	Type   string // Bot API type: bold, italic, text_link, code, expandable_blockquote, ...
	Offset int
	Length int
	Arg    string // href for a, language for code, emoji-id for tg-emoji
}

type openTag struct {
	name, arg   string
	expandable  bool
	utf16Offset int
}

// ParseHTML parses text as Telegram does for parse_mode=HTML and returns the
// plain text and its entities, or the error Telegram gives, in its wording
// ("Unsupported start tag \"x\" at byte offset 3", ...).
//
// It follows tdlib's parser (td/telegram/MessageEntity.cpp, parse_html),
// stricter in two respects: tdlib keeps a '&' that starts no known character
// reference (or one naming NUL, a surrogate, U+10FFFF or above) as text and
// accepts a reference without its ';', although the Bot API documentation
// requires "&amp;"; the fake rejects both, so that a renderer that forgets to
// escape is caught in tests. And it does not know tdlib's newest tag,
// <tg-time unix=... format=...>, which the receiver does not use.
func ParseHTML(text string) (plain string, entities []Entity, err error) {
	p := htmlParser{text: text}
	return p.parse()
}

type htmlParser struct {
	text   string
	i      int
	out    strings.Builder
	utf16  int
	nested []openTag
	ents   []Entity
}

// at returns the byte at i, or 0 past the end (tdlib reads a C string).
func (p *htmlParser) at(i int) byte {
	if i < len(p.text) {
		return p.text[i]
	}
	return 0
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 || c == '\v'
}

func (p *htmlParser) parse() (string, []Entity, error) {
	for p.i < len(p.text) {
		switch c := p.text[p.i]; c {
		case '&':
			r, n := decodeEntity(p.text[p.i:])
			if n > 0 && r >= 0xd800 && r <= 0xdfff {
				return "", nil, parseErrorf("Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units")
			}
			if n == 0 {
				return "", nil, parseErrorf("Character '&' is reserved and must be escaped as \"&amp;\" at byte offset %d", p.i)
			}
			p.appendRune(r)
			p.i += n
		case '<':
			var err error
			if p.at(p.i+1) == '/' {
				err = p.endTag()
			} else {
				err = p.startTag()
			}
			if err != nil {
				return "", nil, err
			}
		default:
			r, n := utf8.DecodeRuneInString(p.text[p.i:])
			if r == utf8.RuneError && n == 1 {
				return "", nil, parseErrorf("Strings must be encoded in UTF-8")
			}
			p.appendRune(r)
			p.i += n
		}
	}
	if len(p.nested) > 0 {
		return "", nil, parseErrorf("Can't find end tag corresponding to start tag \"%s\"", p.nested[len(p.nested)-1].name)
	}
	return p.out.String(), p.ents, nil
}

func (p *htmlParser) appendRune(r rune) {
	p.out.WriteRune(r)
	p.utf16++
	if r > 0xffff {
		p.utf16++ // surrogate pair
	}
}

var supportedTags = map[string]bool{
	"a": true, "b": true, "strong": true, "i": true, "em": true, "s": true, "strike": true, "del": true,
	"u": true, "ins": true, "tg-spoiler": true, "tg-emoji": true, "span": true, "pre": true, "code": true,
	"blockquote": true,
}

func (p *htmlParser) startTag() error {
	begin := p.i
	p.i++
	for !isSpace(p.at(p.i)) && p.at(p.i) != '>' {
		p.i++
	}
	if p.i >= len(p.text) {
		return parseErrorf("Unclosed start tag at byte offset %d", begin)
	}
	name := strings.ToLower(p.text[begin+1 : p.i])
	if !supportedTags[name] {
		return parseErrorf("Unsupported start tag \"%s\" at byte offset %d", name, begin)
	}
	arg, expandable, err := p.attributes(name, begin)
	if err != nil {
		return err
	}
	p.i++ // '>'
	if name == "span" && arg != "spoiler" {
		return parseErrorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
	}
	p.nested = append(p.nested, openTag{name: name, arg: arg, expandable: expandable, utf16Offset: p.utf16})
	return nil
}

// attributes reads the attributes of a start tag up to its '>' and returns
// the one argument Telegram keeps for the tag.
func (p *htmlParser) attributes(tag string, begin int) (arg string, expandable bool, err error) {
	for p.at(p.i) != '>' {
		for p.i < len(p.text) && isSpace(p.at(p.i)) {
			p.i++
		}
		if p.at(p.i) == '>' {
			break
		}
		if p.i >= len(p.text) {
			return "", false, parseErrorf("Unclosed start tag at byte offset %d", begin)
		}
		nameBegin := p.i
		for c := p.at(p.i); !isSpace(c) && c != '=' && c != '>' && c != '/' && c != '"' && c != '\''; c = p.at(p.i) {
			p.i++
		}
		attr := p.text[nameBegin:p.i]
		if attr == "" {
			return "", false, parseErrorf("Empty attribute name in the tag \"%s\" at byte offset %d", tag, begin)
		}
		for p.i < len(p.text) && isSpace(p.at(p.i)) {
			p.i++
		}
		if p.at(p.i) != '=' {
			// An attribute without a value is ignored, but "expandable".
			if p.i >= len(p.text) {
				return "", false, parseErrorf("Unclosed start tag \"%s\" at byte offset %d", tag, begin)
			}
			if tag == "blockquote" && attr == "expandable" {
				expandable = true
			}
			continue
		}
		p.i++
		value, err := p.attributeValue(tag, begin)
		if err != nil {
			return "", false, err
		}
		switch {
		case tag == "a" && attr == "href", tag == "tg-emoji" && attr == "emoji-id":
			arg = value
		case tag == "code" && attr == "class" && strings.HasPrefix(value, "language-"):
			arg = value[len("language-"):]
		case tag == "span" && attr == "class" && strings.HasPrefix(value, "tg-"):
			arg = value[len("tg-"):]
		case tag == "blockquote" && attr == "expandable":
			expandable = true
		}
	}
	return arg, expandable, nil
}

func (p *htmlParser) attributeValue(tag string, begin int) (string, error) {
	for p.i < len(p.text) && isSpace(p.at(p.i)) {
		p.i++
	}
	if p.i >= len(p.text) {
		return "", parseErrorf("Unclosed start tag \"%s\" at byte offset %d", tag, begin)
	}
	q := p.at(p.i)
	if q != '"' && q != '\'' {
		// A name token: letters, digits, periods and hyphens.
		start := p.i
		for c := p.at(p.i); c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'; c = p.at(p.i) {
			p.i++
		}
		if !isSpace(p.at(p.i)) && p.at(p.i) != '>' {
			return "", parseErrorf("Unexpected end of name token at byte offset %d", start)
		}
		if p.i >= len(p.text) {
			return "", parseErrorf("Unclosed start tag at byte offset %d", begin)
		}
		return strings.ToLower(p.text[start:p.i]), nil
	}
	p.i++
	var v strings.Builder
	for p.i < len(p.text) && p.text[p.i] != q {
		if p.text[p.i] == '&' {
			if r, n := decodeEntity(p.text[p.i:]); n > 0 {
				v.WriteRune(r)
				p.i += n
				continue
			}
		}
		v.WriteByte(p.text[p.i])
		p.i++
	}
	if p.i >= len(p.text) {
		return "", parseErrorf("Unclosed start tag at byte offset %d", begin)
	}
	p.i++ // closing quote
	if p.i >= len(p.text) {
		return "", parseErrorf("Unclosed start tag at byte offset %d", begin)
	}
	return v.String(), nil
}

func (p *htmlParser) endTag() error {
	begin := p.i
	if len(p.nested) == 0 {
		return parseErrorf("Unexpected end tag at byte offset %d", begin)
	}
	p.i += 2
	for !isSpace(p.at(p.i)) && p.at(p.i) != '>' {
		p.i++
	}
	name := strings.ToLower(p.text[begin+2 : p.i])
	for p.i < len(p.text) && isSpace(p.at(p.i)) {
		p.i++
	}
	if p.at(p.i) != '>' {
		return parseErrorf("Unclosed end tag at byte offset %d", begin)
	}
	p.i++
	open := p.nested[len(p.nested)-1]
	if name != "" && name != open.name {
		return parseErrorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, open.name, name)
	}
	p.nested = p.nested[:len(p.nested)-1]
	if open.name == "span" {
		open.arg = "" // the class, already checked
	}
	length := p.utf16 - open.utf16Offset
	if length == 0 {
		return nil // empty entities are dropped, unchecked
	}
	if id, err := strconv.ParseInt(open.arg, 10, 64); open.name == "tg-emoji" && (err != nil || id == 0) {
		return parseErrorf("Invalid custom emoji identifier specified")
	}
	p.ents = append(p.ents, Entity{Type: entityType(open.name, open.expandable), Offset: open.utf16Offset, Length: length, Arg: open.arg})
	return nil
}

// decodeEntity decodes the character reference at the start of s
// (&lt; &gt; &amp; &quot; &#NN; &#xHH;) and returns it with its length in
// bytes, or n == 0 when s starts no supported reference. Unlike tdlib it
// requires the ';', which every HTML escaper writes.
func decodeEntity(s string) (r rune, n int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 10 {
		return 0, 0
	}
	name := s[1:end]
	switch name {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "quot":
		return '"', end + 1
	}
	if name[0] != '#' || len(name) < 2 {
		return 0, 0
	}
	base, digits := 10, name[1:]
	if digits[0] == 'x' { // tdlib reads "&#X" as text
		base, digits = 16, digits[1:]
	}
	v, err := strconv.ParseUint(digits, base, 32)
	// A surrogate is decoded (and refused by the caller, as tdlib does).
	if err != nil || v == 0 || v >= 0x10ffff {
		return 0, 0
	}
	return rune(v), end + 1
}

// entityType is the Bot API entity type of a tag.
func entityType(tag string, expandable bool) string {
	switch tag {
	case "b", "strong":
		return "bold"
	case "i", "em":
		return "italic"
	case "u", "ins":
		return "underline"
	case "s", "strike", "del":
		return "strikethrough"
	case "span", "tg-spoiler":
		return "spoiler"
	case "a":
		return "text_link"
	case "tg-emoji":
		return "custom_emoji"
	case "blockquote":
		if expandable {
			return "expandable_blockquote"
		}
	}
	return tag // code, pre, blockquote
}

// ParseError is the detail of "can't parse entities", in Telegram's wording:
// capitalized, unlike Go errors, because tests compare it to Telegram's.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

func parseErrorf(format string, args ...any) error {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}
