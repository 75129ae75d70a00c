package externalsecret

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

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

// FuzzNoValueInMessages runs the render and write path with an arbitrary template over an
// arbitrary secret value, rendered into a Secret key and a label, against an API server
// that rejects the write quoting the value (as the real one quotes a rejected label value).
// No condition message, event or log line of the pass may contain the value in any common
// encoding: raw, upper or lower case, base64 (standard and URL, padded or not), hex, Go-
// quoted or JSON-escaped. Run longer with
//
//	go test ./controllers/externalsecret -run '^$' -fuzz FuzzNoValueInMessages -fuzztime 5m
func FuzzNoValueInMessages(f *testing.F) {
	for _, seed := range []struct{ tpl, value string }{
		{"{{ .password }}", "Not A Label Value!"},
		{"{{ .password }}", "valid-label-value-1"},
		{"{{ .password | b64enc }}", "hunter2-secret"},
		{"{{ .password | upper }}", "lower-case-value"},
		{"{{ .password | int }}", "not-a-number-9"},
		{`{{ fail .password }}`, "p@ssw0rd-1234"},
		{`{{ .password | mustFromJson }}`, `{"a":"leak-me-1"`},
		{`{{ printf "%q" .password | fail }}`, "quoted-leak-7"},
		{`{{ .password | toJson | fail }}`, "json-leak-42"},
		{`{{ range 100000000000000 }}{{ end }}{{ .password }}`, "endless-9999"},
		{`{{ .password | hex }}`, "hex-me-please"},
		{`{{ regexFind .password "x" }}`, "(unclosed-regexp"},
	} {
		f.Add(seed.tpl, seed.value)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		f.Fatal(err)
	}
	if err := esv1.AddToScheme(scheme); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tpl, value string) {
		forms := valueForms(value)
		if len(value) < 6 || anyFormIn(forms, strings.ToLower(tpl)) || anyFormIn(forms, fixedWords) {
			return // the template spells the value out itself, or it is a word of the frame
		}
		texts := runFailingPass(t, scheme, tpl, value)
		for _, text := range texts {
			for _, form := range forms {
				if strings.Contains(strings.ToLower(text), form) {
					t.Fatalf("a message shows the value (form %q): %q", form, text)
				}
			}
		}
	})
}

// runFailingPass renders and writes an ExternalSecret whose template renders tpl into a key
// and a label, against a client that refuses every write quoting the value; it returns the
// condition message, the events and the log lines of the pass.
func runFailingPass(t *testing.T, scheme *runtime.Scheme, tpl, value string) []string {
	var logs []string
	logger := funcr.New(func(prefix, args string) { logs = append(logs, prefix+" "+args) }, funcr.Options{Verbosity: 10})
	ctx := logr.NewContext(context.Background(), logger)
	reject := func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, obj.GetName(), field.ErrorList{
			field.Invalid(field.NewPath("metadata", "labels"), value, "invalid label value: "+value),
		})
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(interceptor.Funcs{Create: reject}).Build()
	recorder := events.NewFakeRecorder(10)
	r := &Reconciler{Client: c, APIReader: c, Events: recorder}
	label := "lbl: " + tpl
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "db", UID: "es-uid"}}
	es.Spec.Target.Template = &esv1.ExternalSecretTemplate{
		Data:         map[string]string{"out": tpl},
		TemplateFrom: []esv1.TemplateFrom{{Literal: &label, Target: esv1.TemplateTargetLabels}},
	}
	out, err := r.renderTemplate(ctx, es, map[string][]byte{"password": []byte(value)})
	if err == nil {
		_, err = r.writeSecret(ctx, es, out, 0)
	}
	if err == nil {
		t.Fatalf("the write did not fail")
	}
	if _, returned := r.failed(es, err); returned != nil {
		err = returned // what controller-runtime gets back (a terminal error too)
	}
	// What controller-runtime logs for a returned error.
	logger.Error(err, "Reconciler error")
	close(recorder.Events)
	texts := logs
	for e := range recorder.Events {
		texts = append(texts, e)
	}
	for _, cond := range es.Status.Conditions {
		texts = append(texts, cond.Message)
	}
	return texts
}

// fixedWords are the words that frame the messages (event type and reason, the log line's
// keys and message, the redaction mark), lower-cased: a value that is one of them cannot
// be told apart from them.
const fixedWords = `warning updatefailed "msg"="reconciler error" "error"="terminal error: [redacted]`

// valueForms are the encodings of a value searched for, lower-cased (messages are compared
// lower-cased, which also covers upper- and lower-case renderings).
func valueForms(v string) []string {
	forms := []string{v, hex.EncodeToString([]byte(v)), strings.Trim(strconv.Quote(v), `"`)}
	if j, err := json.Marshal(v); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(v)))
	}
	for i, f := range forms {
		forms[i] = strings.ToLower(f)
	}
	return forms
}

func anyFormIn(forms []string, text string) bool {
	for _, f := range forms {
		if strings.Contains(text, f) {
			return true
		}
	}
	return false
}
