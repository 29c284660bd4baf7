package telegramtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const token = "42:test-token"

type answer struct {
	status int
	body   map[string]any
	raw    string
}

// post sends params form-encoded to method and decodes the answer.
func post(t *testing.T, s *Server, tok, method string, params url.Values) answer {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/bot"+tok+"/"+method, params)
	if err != nil {
		t.Fatalf("POST %s: %v", method, err)
	}
	return readAnswer(t, resp)
}

func readAnswer(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) description() string { s, _ := a.body["description"].(string); return s }

func checkAnswer(t *testing.T, a answer, status int, desc string) {
	t.Helper()
	if a.status != status {
		t.Errorf("got status %d, want %d (%s)", a.status, status, a.raw)
	}
	if desc != "" && a.description() != desc {
		t.Errorf("got description %q, want %q", a.description(), desc)
	}
	if status >= 400 && status != 502 {
		if ok, _ := a.body["ok"].(bool); ok || a.body["error_code"] != float64(status) {
			t.Errorf("got body %s, want ok false and error_code %d", a.raw, status)
		}
	}
}

func TestRouting(t *testing.T) {
	s := NewServer(t, token)
	tests := []struct {
		name, path string
		status     int
		body       string
	}{
		{"wrong token", "/bot1:nope/getMe", 401, `{"description":"Unauthorized","error_code":401,"ok":false}`},
		{"no token", "/bot/getMe", 401, ""},
		{"unknown method", "/bot" + token + "/sendPhoto", 404, `{"description":"Not Found","error_code":404,"ok":false}`},
		{"no method", "/bot" + token + "/", 404, ""},
		{"not a bot path", "/getMe", 404, ""},
		{"method case-insensitive", "/bot" + token + "/GETME", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(s.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			a := readAnswer(t, resp)
			checkAnswer(t, a, tt.status, "")
			if tt.body != "" && strings.TrimSpace(a.raw) != tt.body {
				t.Errorf("got body %s, want %s", a.raw, tt.body)
			}
		})
	}
}

// TestEncodings sends the same message form-encoded, as JSON (with numbers
// and an object, as other clients do), as multipart and as a query string.
func TestEncodings(t *testing.T) {
	s := NewServer(t, token)
	s.SetLimits(Limits{})
	s.SetForum("-100", 3)
	endpoint := s.URL + "/bot" + token + "/sendMessage"
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k, v := range map[string]string{"chat_id": "-100", "text": "<b>x</b>", "parse_mode": "HTML", "disable_notification": "true", "message_thread_id": "3"} {
		_ = mw.WriteField(k, v)
	}
	mw.Close()
	requests := []func() (*http.Response, error){
		func() (*http.Response, error) {
			return http.PostForm(endpoint, url.Values{"chat_id": {"-100"}, "text": {"<b>x</b>"}, "parse_mode": {"HTML"},
				"disable_notification": {"true"}, "message_thread_id": {"3"}})
		},
		func() (*http.Response, error) {
			body := `{"chat_id":-100,"text":"<b>x</b>","parse_mode":"HTML","disable_notification":true,"message_thread_id":3}`
			return http.Post(endpoint, "application/json; charset=utf-8", strings.NewReader(body))
		},
		func() (*http.Response, error) { return http.Post(endpoint, mw.FormDataContentType(), &mp) },
		func() (*http.Response, error) {
			return http.Get(endpoint + "?chat_id=-100&text=%3Cb%3Ex%3C%2Fb%3E&parse_mode=HTML&disable_notification=1&message_thread_id=3")
		},
	}
	for i, do := range requests {
		resp, err := do()
		if err != nil {
			t.Fatal(err)
		}
		checkAnswer(t, readAnswer(t, resp), 200, "")
		got := s.Messages()[i]
		if got.ChatID != "-100" || got.Text != "<b>x</b>" || got.Plain != "x" || !got.Silent || got.ThreadID != 3 {
			t.Errorf("request %d: got %+v, want chat -100, thread 3, silent, text <b>x</b>", i, got)
		}
	}
	resp, err := http.Post(endpoint, "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, readAnswer(t, resp), 400, "Bad Request: can't parse request JSON object")
}

func TestSendMessageResult(t *testing.T) {
	s := NewServer(t, token)
	a := post(t, s, token, "sendMessage", url.Values{"chat_id": {"-1001"}, "text": {"<i>hi</i>"}, "parse_mode": {"HTML"}})
	checkAnswer(t, a, 200, "")
	res, _ := a.body["result"].(map[string]any)
	chat, _ := res["chat"].(map[string]any)
	if res["message_id"] != float64(1) || res["text"] != "hi" || chat["id"] != float64(-1001) {
		t.Errorf("got result %v, want message_id 1, text hi, chat -1001", res)
	}
}

func TestSendMessageErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(*Server)
		params url.Values
		status int
		desc   string
	}{
		{"no chat", nil, url.Values{"text": {"x"}}, 400, "Bad Request: chat_id is empty"},
		{"no text", nil, url.Values{"chat_id": {"1"}}, 400, "Bad Request: message text is empty"},
		{"chat not found", func(s *Server) { s.AllowChats("2") }, url.Values{"chat_id": {"1"}, "text": {"x"}}, 400, "Bad Request: chat not found"},
		{"migrated", func(s *Server) { s.MigrateChat("-1", "-1001") }, url.Values{"chat_id": {"-1"}, "text": {"x"}}, 400,
			"Bad Request: group chat was upgraded to a supergroup chat"},
		{"reply target missing", nil, url.Values{"chat_id": {"1"}, "text": {"x"}, "reply_parameters": {`{"message_id":5}`}}, 400,
			"Bad Request: message to be replied not found"},
		{"reply target missing, old style", nil, url.Values{"chat_id": {"1"}, "text": {"x"}, "reply_to_message_id": {"5"}}, 400,
			"Bad Request: message to be replied not found"},
		{"bad reply parameters", nil, url.Values{"chat_id": {"1"}, "text": {"x"}, "reply_parameters": {`{`}}, 400,
			"Bad Request: can't parse reply parameters JSON object"},
		{"injected 500", func(s *Server) { s.FailNext(1, 500, 0) }, url.Values{"chat_id": {"1"}, "text": {"x"}}, 500, "Internal Server Error"},
		{"injected 429", func(s *Server) { s.FailNext(1, 429, 9) }, url.Values{"chat_id": {"1"}, "text": {"x"}}, 429, "Too Many Requests: retry after 9"},
		{"bad html", nil, url.Values{"chat_id": {"1"}, "text": {"<b>"}, "parse_mode": {"HTML"}}, 400,
			`Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, token)
			if tt.setup != nil {
				tt.setup(s)
			}
			checkAnswer(t, post(t, s, token, "sendMessage", tt.params), tt.status, tt.desc)
			if n := len(s.Messages()); n != 0 {
				t.Errorf("got %d messages, want 0", n)
			}
		})
	}
}

func TestControls(t *testing.T) {
	s := NewServer(t, token)
	msg := url.Values{"chat_id": {"-1"}, "text": {"x"}}
	s.MigrateChat("-1", "-1001")
	a := post(t, s, token, "sendMessage", msg)
	params, _ := a.body["parameters"].(map[string]any)
	if params["migrate_to_chat_id"] != float64(-1001) {
		t.Errorf("got parameters %v, want migrate_to_chat_id -1001", params)
	}
	s.FailNext(2, 429, 4)
	for range 2 {
		a = post(t, s, token, "sendMessage", url.Values{"chat_id": {"1"}, "text": {"x"}})
		checkAnswer(t, a, 429, "Too Many Requests: retry after 4")
		if p, _ := a.body["parameters"].(map[string]any); p["retry_after"] != float64(4) {
			t.Errorf("got parameters %v, want retry_after 4", p)
		}
	}
	checkAnswer(t, post(t, s, token, "getMe", nil), 200, "")
	checkAnswer(t, post(t, s, token, "sendMessage", url.Values{"chat_id": {"1"}, "text": {"x"}}), 200, "")
	if got := s.TooManyRequests(); got != 2 {
		t.Errorf("got %d 429s counted, want 2", got)
	}
	s.SetDown(true)
	a = post(t, s, token, "getMe", nil)
	if a.status != 502 || !strings.Contains(a.raw, "502 Bad Gateway") {
		t.Errorf("down: got %d %q, want 502 with an HTML page", a.status, a.raw)
	}
	s.SetDown(false)
	checkAnswer(t, post(t, s, token, "getMe", nil), 200, "")
	if got := s.Calls("sendMessage"); got != 4 {
		t.Errorf("got %d sendMessage calls, want 4", got)
	}
}

func TestEditMessageText(t *testing.T) {
	s := NewServer(t, token)
	s.SetLimits(Limits{})
	checkAnswer(t, post(t, s, token, "sendMessage", url.Values{"chat_id": {"7"}, "text": {"<b>a</b>"}, "parse_mode": {"HTML"}}), 200, "")
	edit := func(id, text string) answer {
		return post(t, s, token, "editMessageText", url.Values{"chat_id": {"7"}, "message_id": {id}, "text": {text}, "parse_mode": {"HTML"}})
	}
	const notModified = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
	checkAnswer(t, edit("1", "<b>a</b>"), 400, notModified)
	checkAnswer(t, edit("1", "<strong>a</strong>"), 400, notModified)
	checkAnswer(t, edit("2", "b"), 400, "Bad Request: message to edit not found")
	checkAnswer(t, edit("1", "<b>a</b>"+strings.Repeat("x", 4096)), 400, "Bad Request: message is too long")
	checkAnswer(t, edit("1", "<i>a</i>"), 200, "")
	checkAnswer(t, edit("1", "<i>a</i>"), 400, notModified)
	edits := s.WaitEdits(t, 1, time.Second)
	if len(edits) != 1 || edits[0].Text != "<i>a</i>" || edits[0].Plain != "a" {
		t.Errorf("got edits %+v, want one with <i>a</i>", edits)
	}
	if got := s.Messages()[0].Text; got != "<b>a</b>" {
		t.Errorf("got sent text %q, want the original <b>a</b>", got)
	}
}

func TestFloodLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		chats  []string // messages sent back to back, in order
		okN    int      // how many pass before the first 429
	}{
		// Rates are per minute or slower so that a loaded machine cannot
		// refill a bucket during the test.
		{"per chat burst", Limits{PerChat: Rate{N: 1, Per: time.Minute, Burst: 3}}, []string{"1", "1", "1", "1", "1"}, 3},
		{"chats are separate", Limits{PerChat: Rate{N: 1, Per: time.Minute, Burst: 3}}, []string{"1", "1", "1", "2", "2", "2"}, 6},
		{"group per minute", Limits{PerChat: Rate{N: 1, Per: time.Minute, Burst: 30}, PerGroup: Rate{N: 20, Per: time.Hour, Burst: 20}},
			[]string{"-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1", "-1"}, 20},
		{"group limit not for users", Limits{PerGroup: Rate{N: 1, Per: time.Hour, Burst: 1}}, []string{"1", "1", "1"}, 3},
		{"global", Limits{Global: Rate{N: 1, Per: time.Minute, Burst: 4}}, []string{"1", "2", "3", "4", "5"}, 4},
		{"off", Limits{}, []string{"1", "1", "1", "1", "1", "1", "1", "1"}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(t, token)
			s.SetLimits(tt.limits)
			ok := 0
			var last answer
			for _, chat := range tt.chats {
				last = post(t, s, token, "sendMessage", url.Values{"chat_id": {chat}, "text": {"x"}})
				if last.status != 200 {
					break
				}
				ok++
			}
			if ok != tt.okN {
				t.Fatalf("got %d messages before a 429, want %d", ok, tt.okN)
			}
			if ok == len(tt.chats) {
				return
			}
			checkAnswer(t, last, 429, "")
			p, _ := last.body["parameters"].(map[string]any)
			if ra, _ := p["retry_after"].(float64); ra < 1 {
				t.Errorf("got parameters %v, want retry_after >= 1", p)
			}
			if want := fmt.Sprintf("Too Many Requests: retry after %v", p["retry_after"]); last.description() != want {
				t.Errorf("got %q, want %q", last.description(), want)
			}
			if s.TooManyRequests() != 1 {
				t.Errorf("got %d 429s counted, want 1", s.TooManyRequests())
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	want := Limits{
		PerChat:  Rate{N: 1, Per: time.Second, Burst: 3},
		PerGroup: Rate{N: 20, Per: time.Minute, Burst: 20},
		Global:   Rate{N: 30, Per: time.Second, Burst: 30},
	}
	if got := DefaultLimits(); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	s := NewServer(t, token)
	start := time.Now()
	for i := range 3 {
		checkAnswer(t, post(t, s, token, "sendMessage", url.Values{"chat_id": {"-7"}, "text": {fmt.Sprint(i)}}), 200, "")
	}
	// A fourth message within the same second exceeds the burst (unless
	// this machine took over a second for three requests).
	a := post(t, s, token, "sendMessage", url.Values{"chat_id": {"-7"}, "text": {"x"}})
	if time.Since(start) < 900*time.Millisecond {
		checkAnswer(t, a, 429, "Too Many Requests: retry after 1")
	}
}

// TestFloodRetryAfter checks that waiting retry_after is enough.
func TestFloodRetryAfter(t *testing.T) {
	s := NewServer(t, token)
	s.SetLimits(Limits{PerChat: Rate{N: 1, Per: 500 * time.Millisecond, Burst: 1}})
	msg := url.Values{"chat_id": {"1"}, "text": {"x"}}
	checkAnswer(t, post(t, s, token, "sendMessage", msg), 200, "")
	a := post(t, s, token, "sendMessage", msg)
	checkAnswer(t, a, 429, "Too Many Requests: retry after 1")
	time.Sleep(time.Second)
	checkAnswer(t, post(t, s, token, "sendMessage", msg), 200, "")
}

func TestGetUpdates(t *testing.T) {
	s := NewServer(t, token)
	s.AddUpdate(Update{ChatID: 1, Title: "A", Text: "a"}, Update{ChatID: -1001, Title: "G", ThreadID: 3, Topic: "T"})
	s.AddRawUpdate(json.RawMessage(`{"my_chat_member":{"chat":{"id":-5,"type":"group","title":"X"}}}`))
	a := post(t, s, token, "getUpdates", nil)
	res, _ := a.body["result"].([]any)
	if len(res) != 3 {
		t.Fatalf("got %d updates, want 3: %s", len(res), a.raw)
	}
	second, _ := res[1].(map[string]any)
	msg, _ := second["message"].(map[string]any)
	reply, _ := msg["reply_to_message"].(map[string]any)
	topic, _ := reply["forum_topic_created"].(map[string]any)
	if second["update_id"] != float64(2) || msg["message_thread_id"] != float64(3) || topic["name"] != "T" {
		t.Errorf("got %v, want update 2 in topic 3 named T", second)
	}
	a = post(t, s, token, "getUpdates", url.Values{"offset": {"3"}, "limit": {"10"}})
	if res, _ := a.body["result"].([]any); len(res) != 1 {
		t.Errorf("after offset 3: got %d updates, want 1", len(res))
	}
}

func TestNewServerOnAndWait(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServerOn(l, token)
	defer s.Close()
	if !strings.Contains(s.URL, l.Addr().String()) {
		t.Errorf("got URL %s, want it on %s", s.URL, l.Addr())
	}
	s.SetLimits(Limits{})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			resp, err := http.PostForm(s.URL+"/bot"+token+"/sendMessage", url.Values{"chat_id": {fmt.Sprint(i % 3)}, "text": {"x"}})
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	got := s.WaitMessages(t, 20, 5*time.Second)
	wg.Wait()
	ids := map[string]map[int]bool{}
	for _, m := range got {
		if ids[m.ChatID] == nil {
			ids[m.ChatID] = map[int]bool{}
		}
		if ids[m.ChatID][m.MessageID] {
			t.Errorf("got message id %d twice in chat %s", m.MessageID, m.ChatID)
		}
		ids[m.ChatID][m.MessageID] = true
	}
}

func TestForumTopics(t *testing.T) {
	s := NewServer(t, token)
	s.SetLimits(Limits{})
	s.SetForum("-1001", 5, 9)
	const notFound = "Bad Request: message thread not found"
	tests := []struct {
		name, chat, thread string
		status             int
		desc               string
		topic              int // where the message went
	}{
		{"forum, no thread: General", "-1001", "", 200, "", 0},
		{"forum, a topic", "-1001", "5", 200, "", 5},
		{"forum, another topic", "-1001", "9", 200, "", 9},
		{"forum, General explicitly", "-1001", "1", 400, notFound, 0},
		{"forum, unknown topic", "-1001", "6", 400, notFound, 0},
		{"supergroup without topics: ignored", "-1002", "5", 200, "", 0},
		{"group: ignored", "-5", "5", 200, "", 0},
		{"channel: ignored", "@news", "5", 200, "", 0},
		{"private chat without topics", "42", "5", 400, notFound, 0},
		{"not a number", "-1001", "x", 400, "Bad Request: invalid message thread identifier specified", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Messages())
			a := post(t, s, token, "sendMessage", url.Values{"chat_id": {tt.chat}, "text": {"x"}, "message_thread_id": {tt.thread}})
			checkAnswer(t, a, tt.status, tt.desc)
			msgs := s.Messages()
			if tt.status != 200 {
				if len(msgs) != before {
					t.Errorf("got %d new messages, want none", len(msgs)-before)
				}
				return
			}
			if len(msgs) != before+1 || msgs[before].ThreadID != tt.topic {
				t.Fatalf("got messages %+v, want one more in topic %d", msgs[before:], tt.topic)
			}
			res, _ := a.body["result"].(map[string]any)
			if got, _ := res["message_thread_id"].(float64); int(got) != tt.topic {
				t.Errorf("got result message_thread_id %v, want %d", res["message_thread_id"], tt.topic)
			}
			chat, _ := res["chat"].(map[string]any)
			if forum, _ := chat["is_forum"].(bool); forum != (tt.chat == "-1001") {
				t.Errorf("got chat.is_forum %v, want %v", forum, tt.chat == "-1001")
			}
		})
	}
}
