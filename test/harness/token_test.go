package harness

import (
	"encoding/base64"
	"slices"
	"testing"
)

func TestTokenAudiences(t *testing.T) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"system:serviceaccount:a:b","aud":["sts.amazonaws.com","extra"]}`))
	got, err := TokenAudiences("h." + payload + ".s")
	if err != nil || !slices.Equal(got, []string{"sts.amazonaws.com", "extra"}) {
		t.Fatalf("TokenAudiences = %v, %v", got, err)
	}
	c, err := DecodeToken("h." + payload + ".s")
	if err != nil || c.Sub != "system:serviceaccount:a:b" {
		t.Fatalf("DecodeToken = %+v, %v", c, err)
	}
	for _, bad := range []string{"", "a.b", "h.!!!.s", "h." + base64.RawURLEncoding.EncodeToString([]byte("[")) + ".s"} {
		if _, err := TokenAudiences(bad); err == nil {
			t.Errorf("TokenAudiences(%q) accepted a malformed token", bad)
		}
	}
}
