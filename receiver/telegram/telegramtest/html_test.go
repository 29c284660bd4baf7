package telegramtest

import (
	"strings"
	"testing"
	"unicode/utf16"
)

func TestParseHTMLValid(t *testing.T) {
	tests := []struct {
		in, plain string
		entities  []Entity
	}{
		{"plain", "plain", nil},
		{"<b>bold</b> <strong>x</strong>", "bold x", []Entity{{"bold", 0, 4, ""}, {"bold", 5, 1, ""}}},
		{"<i>i</i><em>e</em><u>u</u><ins>n</ins>", "ieun", []Entity{{"italic", 0, 1, ""}, {"italic", 1, 1, ""}, {"underline", 2, 1, ""}, {"underline", 3, 1, ""}}},
		{"<s>a</s><strike>b</strike><del>c</del>", "abc", []Entity{{"strikethrough", 0, 1, ""}, {"strikethrough", 1, 1, ""}, {"strikethrough", 2, 1, ""}}},
		{`<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>`, "st", []Entity{{"spoiler", 0, 1, ""}, {"spoiler", 1, 1, ""}}},
		{`<a href="http://grafana.example/d?a=1&amp;b=2">dash</a>`, "dash", []Entity{{"text_link", 0, 4, "http://grafana.example/d?a=1&b=2"}}},
		{`<a href='x'>q</a>`, "q", []Entity{{"text_link", 0, 1, "x"}}},
		{`<a href=x>q</a>`, "q", []Entity{{"text_link", 0, 1, "x"}}},
		{`<code>x</code><pre><code class="language-go">y</code></pre>`, "xy", []Entity{{"code", 0, 1, ""}, {"code", 1, 1, "go"}, {"pre", 1, 1, ""}}},
		{"<blockquote>q</blockquote><blockquote expandable>e</blockquote>", "qe", []Entity{{"blockquote", 0, 1, ""}, {"expandable_blockquote", 1, 1, ""}}},
		{`<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`, "👍", []Entity{{"custom_emoji", 0, 2, "5368324170671202286"}}},
		{"<b>a <i>b</i></b>", "a b", []Entity{{"italic", 2, 1, ""}, {"bold", 0, 3, ""}}},
		{"<B>upper</b>", "upper", []Entity{{"bold", 0, 5, ""}}}, // tag names are case-insensitive
		{"<B>upper</B>", "upper", []Entity{{"bold", 0, 5, ""}}},
		{"<tg-emoji></tg-emoji>x", "x", nil}, // empty: dropped before the id is checked
		{"&lt;none&gt; &amp; &quot;q&quot; &#39;s &#x1F600; &#34;", `<none> & "q" 's 😀 "`, nil},
		{"a > b", "a > b", nil},
		{"<b>x</>", "x", []Entity{{"bold", 0, 1, ""}}},
		{"<b></b>empty entity dropped", "empty entity dropped", nil},
		{"🔴 <b>host</b>", "🔴 host", []Entity{{"bold", 3, 4, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			plain, ents, err := ParseHTML(tt.in)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if plain != tt.plain {
				t.Errorf("got plain %q, want %q", plain, tt.plain)
			}
			if len(ents) != len(tt.entities) {
				t.Fatalf("got entities %+v, want %+v", ents, tt.entities)
			}
			for i := range ents {
				if ents[i] != tt.entities[i] {
					t.Errorf("entity %d: got %+v, want %+v", i, ents[i], tt.entities[i])
				}
			}
		})
	}
}

func TestParseHTMLInvalid(t *testing.T) {
	tests := []struct{ in, err string }{
		{"a <b>b", `Can't find end tag corresponding to start tag "b"`},
		{"<b><i>x</b></i>", `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{"x</b>", "Unexpected end tag at byte offset 1"},
		{"<b>upper</I>", `Unmatched end tag at byte offset 8, expected "</b>", found "</i>"`},
		{`<tg-emoji emoji-id="0">x</tg-emoji>`, "Invalid custom emoji identifier specified"},
		{"<div>x</div>", `Unsupported start tag "div" at byte offset 0`},
		{"<br>", `Unsupported start tag "br" at byte offset 0`},
		{"job=<none>", `Unsupported start tag "none" at byte offset 4`},
		{"1 < 2", `Unsupported start tag "" at byte offset 2`},
		{"trailing <", "Unclosed start tag at byte offset 9"},
		{"<b", "Unclosed start tag at byte offset 0"},
		{`<a href="x`, "Unclosed start tag at byte offset 0"},
		{`<a href=`, `Unclosed start tag "a" at byte offset 0`},
		{"<b>x</b", "Unclosed end tag at byte offset 4"},
		{"<span>x</span>", `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{`<span class="bold">x</span>`, `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{`<a href=x"y">x</a>`, "Unexpected end of name token at byte offset 8"},
		{"<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"},
		{"AT&T", `Character '&' is reserved and must be escaped as "&amp;" at byte offset 2`},
		{"&nbsp;", `Character '&' is reserved and must be escaped as "&amp;" at byte offset 0`},
		{"&#0;", `Character '&' is reserved and must be escaped as "&amp;" at byte offset 0`},
		{"&lt", `Character '&' is reserved and must be escaped as "&amp;" at byte offset 0`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, _, err := ParseHTML(tt.in)
			if err == nil {
				t.Fatalf("got no error, want %q", tt.err)
			}
			if err.Error() != tt.err {
				t.Errorf("got %q, want %q", err, tt.err)
			}
		})
	}
}

// TestHTMLCases checks the fake against Telegram's verdicts; render's
// TestValidateLikeTelegram checks render.Validate against the same table.
func TestHTMLCases(t *testing.T) {
	for _, tc := range HTMLCases {
		t.Run(tc.Name, func(t *testing.T) {
			want := tc.Telegram
			if tc.Fake != "" {
				want = tc.Fake
			}
			_, _, err := ParseHTML(tc.HTML)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != want {
				t.Errorf("ParseHTML(%q): got error %q, want %q", tc.HTML, got, want)
			}
			if tc.Telegram != "" && tc.Valid {
				t.Errorf("table: Telegram refuses %q, so render.Validate must too", tc.HTML)
			}
		})
	}
}

func TestParseText(t *testing.T) {
	tests := []struct {
		name, text, parseMode, err string
	}{
		{"4096 ascii", strings.Repeat("a", 4096), "HTML", ""},
		{"4097 ascii", strings.Repeat("a", 4097), "HTML", "Bad Request: message is too long"},
		{"4096 after entities", strings.Repeat("&amp;", 4096), "HTML", ""},
		{"4097 after entities", strings.Repeat("&lt;", 4097), "HTML", "Bad Request: message is too long"},
		{"tags do not count", "<b>" + strings.Repeat("a", 4096) + "</b>", "HTML", ""},
		{"4096 two-byte runes", strings.Repeat("é", 4096), "HTML", ""},
		{"4097 three-byte runes", strings.Repeat("€", 4097), "HTML", "Bad Request: message is too long"},
		// Code points, not UTF-16 units: 4096 emoji are 8192 units.
		{"4096 emoji", strings.Repeat("😀", 4096), "HTML", ""},
		{"4096 emoji + 1", strings.Repeat("😀", 4096) + "a", "HTML", "Bad Request: message is too long"},
		{"numeric emoji entities", strings.Repeat("&#x1F600;", 4097), "HTML", "Bad Request: message is too long"},
		{"surrounding space trimmed", " " + strings.Repeat("a", 4096) + "\n", "HTML", ""},
		{"empty", "", "HTML", "Bad Request: message text is empty"},
		{"only tags", "<b></b>", "HTML", "Bad Request: message text is empty"},
		{"only spaces", " \n ", "", "Bad Request: message text is empty"},
		{"bad html", "<b>", "HTML", `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{"html not parsed without parse_mode", "<b>", "", ""},
		{"parse mode case", "<b>x</b>", "html", ""},
		{"unknown parse mode", "x", "XML", "Bad Request: unsupported parse_mode"},
		{"invalid utf-8", "a\xffb", "HTML", "Bad Request: strings must be encoded in UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := parseText(tt.text, tt.parseMode)
			got := ""
			if e != nil {
				got = e.desc
				if e.code != 400 {
					t.Errorf("got code %d, want 400", e.code)
				}
			}
			if got != tt.err {
				t.Errorf("got %q, want %q", got, tt.err)
			}
		})
	}
}

// FuzzParseHTML checks that the parser never panics and that entities stay
// inside the text.
func FuzzParseHTML(f *testing.F) {
	for _, s := range []string{"<b>x</b>", "a &amp; b", `<a href="x">y</a>`, "<b><i>x</b>", "&#x1F600;", "<", "&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		plain, ents, err := ParseHTML(s)
		if err != nil {
			return
		}
		n := len(utf16.Encode([]rune(plain)))
		for _, e := range ents {
			if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
				t.Errorf("entity %+v outside text of %d code units", e, n)
			}
		}
	})
}
