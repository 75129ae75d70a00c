package render

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// Redact cuts every fetched value of four or more bytes out of msg, in each common
// encoding (raw, upper and lower case, base64 standard and URL at any alignment, hex,
// Go-quoted, JSON-escaped, URL-escaped), matching without regard to ASCII case. Messages are
// built from field names and reasons and should hold no value; this is the safety net for
// a name that happens to equal one. Shorter values would cut ordinary words out of the
// message and are not worth guarding.
func Redact(msg string, values map[string]string) string {
	lower := asciiLower(msg)
	cut := make([]bool, len(msg))
	for _, v := range values {
		if len(v) < 4 {
			continue
		}
		for _, form := range encodings(v) {
			form = asciiLower(form)
			if len(form) < 4 {
				continue
			}
			for from := 0; ; {
				i := strings.Index(lower[from:], form)
				if i < 0 {
					break
				}
				for j := from + i; j < from+i+len(form); j++ {
					cut[j] = true
				}
				from += i + 1
			}
		}
	}
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		if !cut[i] {
			b.WriteByte(msg[i])
			continue
		}
		b.WriteString("[redacted]")
		for i+1 < len(msg) && cut[i+1] {
			i++
		}
	}
	return b.String()
}

// encodings are the forms in which a value may show up in an error message.
func encodings(v string) []string {
	forms := []string{
		v, strings.Trim(strconv.Quote(v), `"`), url.QueryEscape(v), url.PathEscape(v), hex.EncodeToString([]byte(v)),
	}
	if j, err := json.Marshal(v); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	// Base64 of a longer text that contains v encodes v differently at each of the three
	// alignments; the inner characters of each are the same whatever surrounds v.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		forms = append(forms, strings.TrimRight(enc.EncodeToString([]byte(v)), "="))
		for k := 0; k < 3; k++ {
			e := enc.EncodeToString(append(make([]byte, k), v...))
			lo, hi := (4*k+2)/3+1, len(e)-4
			if hi-lo >= 4 {
				forms = append(forms, e[lo:hi])
			}
		}
	}
	return forms
}

// asciiLower lower-cases ASCII letters only, so that byte offsets stay the same.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
