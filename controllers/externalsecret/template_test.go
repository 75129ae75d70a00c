package externalsecret

import (
	"context"
	"strings"
	"testing"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func TestRenderTemplate(t *testing.T) {
	fetched := map[string][]byte{"user": []byte("app"), "pass": []byte("p@ss word")}
	literal := "extra: {{ .user | upper }}"
	for _, tc := range []struct {
		name     string
		template *esv1.ExternalSecretTemplate
		want     map[string]string
		err      string
	}{
		{name: "no template keeps the data", template: nil, want: map[string]string{"user": "app", "pass": "p@ss word"}},
		{name: "replace keeps only rendered keys", template: &esv1.ExternalSecretTemplate{Data: map[string]string{
			"dsn": "postgres://{{ .user }}:{{ .pass | urlquery }}@db", "b64": "{{ .user | b64enc }}",
		}}, want: map[string]string{"dsn": "postgres://app:p%40ss+word@db", "b64": "YXBw"}},
		{name: "merge adds to the fetched keys", template: &esv1.ExternalSecretTemplate{MergePolicy: "Merge", Data: map[string]string{"json": `{{ dict "u" .user | toJson }}`}},
			want: map[string]string{"user": "app", "pass": "p@ss word", "json": `{"u":"app"}`}},
		{name: "literal", template: &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{{Literal: &literal}}}, want: map[string]string{"extra": "APP"}},
		{name: "missing key names the template", template: &esv1.ExternalSecretTemplate{Data: map[string]string{"bad": "{{ .nope }}"}}, err: `spec.target.template.data["bad"]: failed at line 1: the data has no key "nope"`},
		{name: "parse error names the template", template: &esv1.ExternalSecretTemplate{Data: map[string]string{"broken": "{{ .user "}}, err: `spec.target.template.data["broken"]: does not parse (line 1)`},
		{name: "toYaml and fromYaml", template: &esv1.ExternalSecretTemplate{Data: map[string]string{
			"config.yaml": `{{ dict "user" .user "port" 5432 | toYaml }}`, "host": `{{ (fromYaml "db: {host: h1}").db.host }}`,
		}}, want: map[string]string{"config.yaml": "port: 5432\nuser: app", "host": "h1"}},
		{name: "env is not available", template: &esv1.ExternalSecretTemplate{Data: map[string]string{"e": `{{ env "HOME" }}`}}, err: `function "env" not defined`},
		{name: "DNS lookups are not available", template: &esv1.ExternalSecretTemplate{Data: map[string]string{"e": `{{ getHostByName "example.com" }}`}}, err: `function "getHostByName" not defined`},
		{name: "an endless range names the limit", template: &esv1.ExternalSecretTemplate{Data: map[string]string{"x": `{{ range 100000000000000 }}{{ end }}`}},
			err: `spec.target.template.data["x"]: failed at line 1: exceeded the limit of 100000 range iterations and template calls`},
		{name: "function errors do not quote their arguments", template: &esv1.ExternalSecretTemplate{Data: map[string]string{"n": `{{ mustRegexMatch "(" .pass }}`}},
			err: `function mustRegexMatch returned an error`},
	} {
		es := &esv1.ExternalSecret{Spec: esv1.ExternalSecretSpec{Target: esv1.ExternalSecretTarget{Template: tc.template}}}
		out, err := (&Reconciler{}).renderTemplate(context.Background(), es, fetched)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			} else if strings.Contains(err.Error(), "p@ss") {
				t.Errorf("%s: error shows a value: %v", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(out.data) != len(tc.want) {
			t.Errorf("%s: %d keys, want %d", tc.name, len(out.data), len(tc.want))
		}
		for k, v := range tc.want {
			if string(out.data[k]) != v {
				t.Errorf("%s: key %s = %q, want %q", tc.name, k, out.data[k], v)
			}
		}
	}
}
