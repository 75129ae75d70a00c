package externalsecret

import (
	"context"
	"strings"
	"testing"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// FuzzRenderTemplate renders arbitrary templates over an arbitrary secret value. Whatever
// the template does (convert the value to a number, index it, call fail with it, print it
// with %q), the error a user sees in the Ready condition must not contain the value, and
// rendering must not panic. Run longer with
//
//	go test ./controllers/externalsecret -run '^$' -fuzz FuzzRenderTemplate -fuzztime 5m
func FuzzRenderTemplate(f *testing.F) {
	for _, seed := range []struct{ tpl, value string }{
		{"{{ .password }}", "hunter2-secret"},
		{"{{ .password | int }}", "not-a-number-9"},
		{"{{ .password | atoi }}", "s3cr3t-value"},
		{`{{ fail .password }}`, "p@ssw0rd-1234"},
		{`{{ index .password 99 }}`, "short-value-1"},
		{`{{ .password | fromJson }}`, `{"a":"leak-me-1"`},
		{`{{ printf "%q" .password | fail }}`, "quoted-leak-7"},
		{`{{ (.password | b64dec) }}`, "@@not-base64@@"},
		{`{{ filterPEM "CERTIFICATE" .password }}`, "-----BEGIN CERTIFICATE-----\nxyz"},
		{`{{ template .password }}`, "template-name-3"},
		{`{{ .password | toJson | fail }}`, "json-leak-42"},
		{`{{ .password | fromYaml }}`, "a: [unclosed-9"},
		{`{{ regexFind .password "x" }}`, "(unclosed-regexp"},
		{`{{ .password | semver }}`, "not.semver-11"},
	} {
		f.Add(seed.tpl, seed.value)
	}
	f.Fuzz(func(t *testing.T, tpl, value string) {
		// A value too short, or one the template text itself spells out, cannot be told
		// apart from the template's own words in a message.
		if len(value) < 6 || strings.Contains(tpl, value) || strings.Contains("spec.target.template.data template password failed does not parse", value) {
			return
		}
		es := &esv1.ExternalSecret{Spec: esv1.ExternalSecretSpec{Target: esv1.ExternalSecretTarget{
			Template: &esv1.ExternalSecretTemplate{Data: map[string]string{"out": tpl}},
		}}}
		_, err := (&Reconciler{}).renderTemplate(context.Background(), es, map[string][]byte{"password": []byte(value)})
		if err != nil && strings.Contains(err.Error(), value) {
			t.Fatalf("the template error shows the secret value: %q", err.Error())
		}
	})
}
