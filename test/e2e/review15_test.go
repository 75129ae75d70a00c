package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A tenant's amplifiers: a regexp replacement inserted at every position of its input
// (template regexReplaceAll, dataFrom rewrite.regexp with a source that matches the empty
// string), and a split into single characters. Each would allocate hundreds of megabytes
// in one call before any check of its result; each fails its own ExternalSecret with a
// reason that names the limit, and an ordinary ExternalSecret in the same namespace,
// created after them, still syncs.
func TestReview15_AmplifyingHelpersFailAlone(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"password":"amp-p-1"}`)
	h.PutRemote(ns+"/wide", fmt.Sprintf(`{"%s":"amp-v-1"}`, strings.Repeat("k", 1000)))
	h.Create(awsStore(ns, "store"))
	templates := map[string]struct{ template, limit string }{
		"replace": {`{{ regexReplaceAll "" (repeat 1000 "y") (repeat 500000 "x") }}`, "function regexReplaceAll: the result would exceed the template value limit"},
		"split":   {`{{ split "" (repeat 1000000 "x") }}`, "function split: the result would hold more than 65536 strings"},
	}
	for name, c := range templates {
		es := externalSecret(ns, name, "store", ns+"/db", map[string]string{"password": "password"})
		es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Data: map[string]string{"x": c.template}}
		h.Create(es)
	}
	rewrite := externalSecret(ns, "rewrite", "store", "", nil)
	rewrite.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{{
		Extract: &esv1.ExternalSecretDataRemoteRef{Key: ns + "/wide"},
		Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "", Target: strings.Repeat("x", 64<<10)}}},
	}}
	h.Create(rewrite)
	ordinary := externalSecret(ns, "ordinary", "store", ns+"/db", map[string]string{"password": "password"})
	h.Create(ordinary)
	h.WaitSecretValue(ns, "ordinary", "password", "amp-p-1")

	for name, c := range templates {
		es := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: name}, c.limit)
		if r := readyCondition(es).Reason; r != esv1.ReasonSecretSyncedError {
			t.Errorf("%s: reason %s, want SecretSyncedError", name, r)
		}
		assertNoSecret(t, ctx, ns, name)
	}
	h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "rewrite"}, "rewrite[0].regexp: the renamed keys would exceed")
	assertNoSecret(t, ctx, ns, "rewrite")
}

// Errors about a remote value name the key, the property and the reason, never the value:
// a property missing from a JSON value, a property of a value that is not JSON,
// decodingStrategy Base64 over a value that is not base64, dataFrom.extract of a value that
// is not a JSON object. Neither the condition nor any event of the namespace holds the
// value, in plain text, base64, hex or upper case.
func TestReview15_ValueErrorsQuoteNoValue(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	const secret = "r15-Leak-Val_0042"
	h.PutRemote(ns+"/json", `{"password":"`+secret+`","n":1}`)
	h.PutRemote(ns+"/plain", secret+" plain!")
	h.Create(awsStore(ns, "store"))

	missing := externalSecret(ns, "missing-property", "store", ns+"/json", map[string]string{"password": "passw0rd"})
	notJSON := externalSecret(ns, "property-of-plain", "store", ns+"/plain", map[string]string{"password": "password"})
	notB64 := externalSecret(ns, "not-base64", "store", ns+"/plain", map[string]string{"password": ""})
	notB64.Spec.Data[0].RemoteRef.DecodingStrategy = esv1.DecodingStrategyBase64
	extract := externalSecret(ns, "extract-plain", "store", "", nil)
	extract.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{{Extract: &esv1.ExternalSecretDataRemoteRef{Key: ns + "/plain"}}}
	h.Create(missing, notJSON, notB64, extract)

	for name, says := range map[string]string{
		"missing-property":  `property "passw0rd" does not exist`,
		"property-of-plain": "value is not JSON",
		"not-base64":        "value is not valid base64",
		"extract-plain":     "dataFrom.extract needs a JSON object",
	} {
		es := h.WaitMessage(types.NamespacedName{Namespace: ns, Name: name}, says)
		assertNoForm(t, name+" condition", readyCondition(es).Message, secret)
	}
	var events eventsv1.EventList
	if err := cp.Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		assertNoForm(t, "event "+e.Reason, e.Note, secret)
	}
}

// assertNoForm fails when text holds value in a common encoding (without printing it).
func assertNoForm(t *testing.T, where, text, value string) {
	t.Helper()
	for form, v := range map[string]string{
		"plain": value, "base64": base64.StdEncoding.EncodeToString([]byte(value)),
		"hex": hex.EncodeToString([]byte(value)), "upper": strings.ToUpper(value), "lower": strings.ToLower(value),
	} {
		if strings.Contains(text, v) || strings.Contains(strings.ToLower(text), strings.ToLower(v)) {
			t.Errorf("%s holds the value (%s)", where, form)
		}
	}
}

// Two ExternalSecrets merge their keys into one Secret (creationPolicy Merge), the second
// with deletionPolicy Merge. The second's pass removes none of the first's keys (it does not
// fetch them, but they are not its own), and when its own remote data is gone it removes its
// own key only.
func TestReview15_TwoMergeExternalSecretsKeepEachOthersKeys(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"password":"two-merge-p-1"}`)
	h.PutRemote(ns+"/api", "two-merge-token-1")
	h.Create(awsStore(ns, "store"), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Data: map[string][]byte{"hand": []byte("hand-added")}})
	db := externalSecret(ns, "db", "store", ns+"/db", map[string]string{"password": "password"})
	db.Spec.Target = esv1.ExternalSecretTarget{Name: "app", CreationPolicy: esv1.CreatePolicyMerge, DeletionPolicy: esv1.DeletionPolicyMerge}
	h.Create(db)
	h.WaitSecretValue(ns, "app", "password", "two-merge-p-1")

	api := externalSecret(ns, "api", "store", "", nil)
	api.Spec.Data = []esv1.ExternalSecretData{{SecretKey: "token", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/api"}}}
	api.Spec.Target = esv1.ExternalSecretTarget{Name: "app", CreationPolicy: esv1.CreatePolicyMerge, DeletionPolicy: esv1.DeletionPolicyMerge}
	h.Create(api)
	apiKey := types.NamespacedName{Namespace: ns, Name: "api"}
	h.WaitSecretValue(ns, "app", "token", "two-merge-token-1")
	synced := h.WaitReason(apiKey, esv1.ReasonSecretSynced)
	s := h.Secret(ns, "app")
	if string(s.Data["password"]) != "two-merge-p-1" || string(s.Data["hand"]) != "hand-added" {
		t.Fatalf("keys %v after the second ExternalSecret's pass: it removed a key that is not its own", keys(s.Data))
	}
	if got := s.Annotations["vigil.dev/managed-keys"]; got != "api=token;db=password" {
		t.Errorf("managed-keys %q, want api=token;db=password", got)
	}

	h.DeleteRemote(ns + "/api")
	h.ForceSync(apiKey)
	h.WaitSyncedSince(apiKey, synced.Status.SyncedResourceVersion)
	s = h.Secret(ns, "app")
	if _, has := s.Data["token"]; has {
		t.Error("the key whose remote data is gone is still there")
	}
	if string(s.Data["password"]) != "two-merge-p-1" || string(s.Data["hand"]) != "hand-added" {
		t.Errorf("keys %v: another ExternalSecret's key or the hand-added key was lost", keys(s.Data))
	}
}

// A key or label name that templateFrom renders from a value, transformed so that no
// redaction can recognise it ("-" replaced by " "), and that Kubernetes would refuse, is
// described by its length in the condition, never quoted.
func TestReview15_RenderedNamesAreNotQuoted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const value = "r15-name-S3cretPart-77"
	for _, target := range []string{"Data", "Labels", "Annotations"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			literal := `{{ .password | replace "-" " " }}: x`
			ns, key := setupDB(t, value, func(es *esv1.ExternalSecret) {
				es.Spec.Target.Template = &esv1.ExternalSecretTemplate{MergePolicy: "Merge", TemplateFrom: []esv1.TemplateFrom{{Literal: &literal, Target: target}}}
			})
			es := env.T(t).WaitMessage(key, "a name templateFrom rendered, 22 bytes, not shown")
			if msg := readyCondition(es).Message; strings.Contains(msg, "S3cretPart") {
				t.Error("the condition quotes the rendered name, which holds the value")
			}
			assertNoSecret(t, ctx, ns, "db")
		})
	}
}

// A remote JSON object with more keys than one extract may return (10,000) fails that
// ExternalSecret naming the limit; the Secret is not written.
func TestReview15_ExtractKeyCountIsBounded(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i <= 10000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":1`, i)
	}
	b.WriteString("}")
	h.PutRemote(ns+"/wide", b.String())
	h.Create(awsStore(ns, "store"))
	es := externalSecret(ns, "wide", "store", "", nil)
	es.Spec.DataFrom = []esv1.ExternalSecretDataFromRemoteRef{{Extract: &esv1.ExternalSecretDataRemoteRef{Key: ns + "/wide"}}}
	h.Create(es)
	h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "wide"}, "dataFrom.extract found more than 10000 keys")
	assertNoSecret(t, ctx, ns, "wide")
}
