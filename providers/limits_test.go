package providers

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// A response body is read up to the limit and no further; one past it fails with an error
// that names the limit, whether or not the server announced its length.
func TestLimitResponses(t *testing.T) {
	const limit = 1024
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		_, _ = w.Write([]byte(strings.Repeat("x", n))) // the client's read is what is tested
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: LimitResponses(nil, limit)}
	for _, tc := range []struct {
		query string
		ok    bool
	}{
		{"n=1024", true},
		{"n=1024&chunked=1", true},
		{"n=1025", false},
		{"n=5000&chunked=1", false},
	} {
		body, err := get(c, srv.URL+"/?"+tc.query)
		switch {
		case tc.ok && (err != nil || len(body) != limit):
			t.Errorf("%s: read %d bytes, %v; want all %d", tc.query, len(body), err, limit)
		case !tc.ok && (!errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "1024 bytes")):
			t.Errorf("%s: %v, want a limit error naming 1024 bytes", tc.query, err)
		case !tc.ok && len(body) > limit:
			t.Errorf("%s: %d bytes were read, more than the limit", tc.query, len(body))
		}
	}
}

func get(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func TestFindResults_CountAndBytes(t *testing.T) {
	f := NewFindResults()
	for i := range MaxFindResults {
		if err := f.Add(strconv.Itoa(i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Room(); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "1000 secrets") {
		t.Errorf("Room after %d results = %v", MaxFindResults, err)
	}
	if err := f.Add("0", []byte("replaced")); err != nil {
		t.Errorf("replacing a result counted as a new one: %v", err)
	}
	g := NewFindResults()
	big := make([]byte, 1<<20)
	var err error
	for i := 0; err == nil && i < 10; i++ { // the ninth MiB breaks the find
		err = g.Add(strconv.Itoa(i), big)
	}
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "8 MiB") {
		t.Errorf("a find past %d bytes = %v, want a limit error naming 8 MiB", MaxFindBytes, err)
	}
	if err := g.Add("huge", make([]byte, MaxValueBytes+1)); !errors.Is(err, ErrLimit) {
		t.Errorf("a value past %d bytes = %v", MaxValueBytes, err)
	}
}
