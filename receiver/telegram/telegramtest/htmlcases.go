package telegramtest

// HTMLCase is a text sent with parse_mode=HTML and what Telegram does with
// it, read from tdlib's parse_html (td/telegram/MessageEntity.cpp), which
// the Bot API uses. HTMLCases is the one table that checks both the fake's
// parser and render.Validate against Telegram.
type HTMLCase struct {
	Name string
	HTML string
	// Telegram is the detail of Telegram's 400 "can't parse entities: ...",
	// "" when Telegram accepts the text.
	Telegram string
	// Fake is the fake's answer where it is stricter than Telegram on
	// purpose (see ParseHTML); "" means the same answer as Telegram.
	Fake string
	// Valid tells whether render.Validate accepts the text. It never does
	// when Telegram refuses it, and it is stricter in a few harmless places.
	Valid bool
}

const (
	unmatchedIB = `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`
	spanClass   = `Tag "span" must have class "tg-spoiler" at byte offset 0`
	emojiID     = "Invalid custom emoji identifier specified"
	ampersand   = `Character '&' is reserved and must be escaped as "&amp;" at byte offset `
	surrogate   = "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
)

// HTMLCases are the shared cases.
var HTMLCases = []HTMLCase{
	{Name: "plain", HTML: "plain text", Valid: true},
	{Name: "formatting tags", HTML: "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>", Valid: true},
	{Name: "nested", HTML: "<b>a <i>b</i></b>", Valid: true},
	{Name: "upper-case tags", HTML: "<B>x</b> <I>y</I>", Valid: true},
	{Name: "spoiler tag", HTML: "<tg-spoiler>x</tg-spoiler>", Valid: true},
	{Name: "spoiler span", HTML: `<span class="tg-spoiler">x</span>`, Valid: true},
	{Name: "spoiler span, token", HTML: `<span class=TG-Spoiler>x</span>`, Valid: true},
	{Name: "spoiler span, other attribute", HTML: `<span id="s" class="tg-spoiler">x</span>`, Valid: true},
	{Name: "span without class", HTML: "<span>x</span>", Telegram: spanClass},
	{Name: "span, other class", HTML: `<span class="bold">x</span>`, Telegram: spanClass},
	{Name: "span, quoted class is case-sensitive", HTML: `<span class="TG-SPOILER">x</span>`, Telegram: spanClass},
	{Name: "span, other tg- class", HTML: `<span class="tg-spoiler" class="tg-x">x</span>`, Telegram: spanClass},
	{Name: "custom emoji", HTML: `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`, Valid: true},
	{Name: "custom emoji id 0", HTML: `<tg-emoji emoji-id="0">x</tg-emoji>`, Telegram: emojiID},
	{Name: "custom emoji without id", HTML: "<tg-emoji>x</tg-emoji>", Telegram: emojiID},
	{Name: "custom emoji id not a number", HTML: `<tg-emoji emoji-id="smile">x</tg-emoji>`, Telegram: emojiID},
	{Name: "custom emoji id too large", HTML: `<tg-emoji emoji-id="99999999999999999999">x</tg-emoji>`, Telegram: emojiID},
	{Name: "empty custom emoji is dropped unchecked", HTML: "<tg-emoji></tg-emoji>x"},
	{Name: "link", HTML: `<a href="https://grafana.example/d?a=1&amp;b=2">dash</a>`, Valid: true},
	{Name: "link, single quotes", HTML: `<a href='x"y'>q</a>`, Valid: true},
	{Name: "link, token", HTML: "<a href=x>q</a>", Valid: true},
	{Name: "link, token with ':'", HTML: "<a href=http://x>q</a>", Telegram: "Unexpected end of name token at byte offset 8"},
	{Name: "attribute without value", HTML: "<a href>x</a>", Valid: true},
	{Name: "'<' in a quoted value", HTML: `<a href="x<y">q</a>`},
	{Name: "code and pre", HTML: `<code>x</code><pre><code class="language-go">y</code></pre><code class=language-sh>z</code>`, Valid: true},
	{Name: "blockquotes", HTML: "<blockquote>q</blockquote><blockquote expandable>e</blockquote>", Valid: true},
	{Name: "whitespace \\v in a tag", HTML: "<b\vclass=x>y</b>", Valid: true},
	{Name: "\\f is no whitespace in a tag", HTML: "<b\fx>y</b>", Telegram: "Unsupported start tag \"b\fx\" at byte offset 0"},
	{Name: "crossed tags", HTML: "<b><i>x</b></i>", Telegram: unmatchedIB},
	{Name: "anonymous end tag", HTML: "<b>x</>"},
	{Name: "end tag without start", HTML: "x</b>", Telegram: "Unexpected end tag at byte offset 1"},
	{Name: "end tag with attribute", HTML: "<b>x</b id>", Telegram: "Unclosed end tag at byte offset 4"},
	{Name: "unclosed end tag", HTML: "<b>x</b", Telegram: "Unclosed end tag at byte offset 4"},
	{Name: "unclosed tag", HTML: "<b>open", Telegram: `Can't find end tag corresponding to start tag "b"`},
	{Name: "unclosed start tag", HTML: "a <b", Telegram: "Unclosed start tag at byte offset 2"},
	{Name: "unclosed attribute", HTML: `<a href="x`, Telegram: "Unclosed start tag at byte offset 0"},
	{Name: "unsupported tag", HTML: "<div>x</div>", Telegram: `Unsupported start tag "div" at byte offset 0`},
	{Name: "self-closing", HTML: "<b/>x", Telegram: `Unsupported start tag "b/" at byte offset 0`},
	{Name: "self-closing with space", HTML: "<b />x</b>", Telegram: `Empty attribute name in the tag "b" at byte offset 0`},
	{Name: "bare '<'", HTML: "1 < 2", Telegram: `Unsupported start tag "" at byte offset 2`},
	{Name: "bare '>'", HTML: "a > b"},
	{Name: "references", HTML: "&lt;&gt;&amp;&quot;&#39;&#x1F600;&#x1f600;", Valid: true},
	{Name: "bare '&'", HTML: "AT&T", Fake: ampersand + "2"},
	{Name: "unknown reference", HTML: "&nbsp;", Fake: ampersand + "0"},
	{Name: "reference without ';'", HTML: "&lt b", Fake: ampersand + "0"},
	{Name: "upper-case hex reference", HTML: "&#X41;", Fake: ampersand + "0"},
	{Name: "reference to NUL", HTML: "&#0;", Fake: ampersand + "0"},
	{Name: "reference to U+10FFFF", HTML: "&#x10FFFF;", Fake: ampersand + "0"},
	{Name: "reference to a surrogate", HTML: "&#xD83D;&#xDE00;", Telegram: surrogate},
}
