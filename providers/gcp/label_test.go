package gcp_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/providers/gcp"
)

// TestLabelOK_AgreesWithSecretManagersRule checks the hand-written label check against
// the rule as a regexp (the one it replaces, which costs 2 MB of memory per copy).
func TestLabelOK_AgreesWithSecretManagersRule(t *testing.T) {
	key := regexp.MustCompile(`^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	value := regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$`)
	cases := []string{
		"", "a", "team", "Team", "t", "1team", "_x", "-x", "x_1-2", "x y", "x.y", "x=y", "x:y", "ключ", "Ключ",
		"日本", "ä", "Ä", "x\xff", "\xff", "x١٢", "١", "x\u00b2", "a OR name:x", "x\n",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("é", 63), strings.Repeat("é", 64),
		"1" + strings.Repeat("a", 62), strings.Repeat("1", 64),
	}
	for _, s := range cases {
		if got, want := gcp.LabelOK(s, true), key.MatchString(s); got != want {
			t.Errorf("key %q: labelOK %v, the rule says %v", s, got, want)
		}
		if got, want := gcp.LabelOK(s, false), value.MatchString(s); got != want {
			t.Errorf("value %q: labelOK %v, the rule says %v", s, got, want)
		}
	}
}
