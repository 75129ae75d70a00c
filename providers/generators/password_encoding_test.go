package generators

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// spec.encoding as in ESO: raw by default, else the named encoding of the password.
func TestEncodePassword_ESOEncodings(t *testing.T) {
	const pw = "p@ss/w+rd?"
	for enc, want := range map[string]string{
		"raw":       pw,
		"base64":    base64.StdEncoding.EncodeToString([]byte(pw)),
		"base64url": base64.URLEncoding.EncodeToString([]byte(pw)),
		"base32":    base32.StdEncoding.EncodeToString([]byte(pw)),
		"hex":       hex.EncodeToString([]byte(pw)),
	} {
		if got := string(encodePassword(pw, &enc)); got != want {
			t.Errorf("encoding %s: got %q, want %q", enc, got, want)
		}
	}
	if got := string(encodePassword(pw, nil)); got != pw {
		t.Errorf("no encoding: got %q, want the raw password", got)
	}
}
