package telegramtest

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

const maxRequestBytes = 10 << 20

// decodeParams reads a request the ways the Bot API accepts one: query
// string, form-encoded or multipart body, or a JSON object. JSON values that
// are not strings (numbers, booleans, objects) are kept as their JSON text,
// which is also how they arrive form-encoded.
func decodeParams(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	params := map[string]string{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var obj map[string]json.RawMessage
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return nil, false
		}
		for k, raw := range obj {
			params[k] = jsonParam(raw)
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxRequestBytes); err != nil {
			return nil, false
		}
		for k, v := range r.MultipartForm.Value {
			params[k] = v[0]
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, false
		}
		for k, v := range r.PostForm {
			params[k] = v[0]
		}
	}
	return params, true
}

func jsonParam(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// boolParam parses a Bot API boolean ("true"/"false", also 1/0).
func boolParam(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true
	}
	return false
}

// intParam parses an optional integer parameter; "" is 0.
func intParam(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
