package workspacetest

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// pageToken encodes a list offset as an opaque token.
func pageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("wst:" + strconv.Itoa(offset)))
}

// paginate cuts items into the page asked for by the request's maxResults
// and pageToken parameters (default def, at most max). It returns the page
// and the next page token ("" on the last page). On a bad parameter it
// writes a 400 reply and returns ok false.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T, def, max int) (page []T, next string, ok bool) {
	q := r.URL.Query()
	size := def
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			writeError(w, http.StatusBadRequest, "invalid",
				errorf("Invalid value '%s'. Values must be within the range: [1, %d]", v, max))
			return nil, "", false
		}
		size = n
	}
	off := 0
	if t := q.Get("pageToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		n, err2 := strconv.Atoi(string(b[min(len(b), 4):]))
		if err != nil || err2 != nil || len(b) < 4 || string(b[:4]) != "wst:" || n < 0 || n > len(items) {
			writeError(w, http.StatusBadRequest, "invalid", "Invalid page token.")
			return nil, "", false
		}
		off = n
	}
	end := min(off+size, len(items))
	if end < len(items) {
		next = pageToken(end)
	}
	return items[off:end], next, true
}
