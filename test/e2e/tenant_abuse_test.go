package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// A tenant's hostile templates (more of them than the controller has workers) each fail
// their own ExternalSecret with SecretSyncedError naming the limit they broke: an endless
// range, a loop of slow calls that runs into the deadline, output past the 1 MiB cap. An
// ordinary ExternalSecret in another namespace, created after them, still syncs.
func TestTenantAbuse_HostileTemplatesFailAloneOthersKeepSyncing(t *testing.T) {
	// Not parallel: its limits race the template deadline, which other tests' load would
	// make fire first.
	h := env.T(t)
	ctx := context.Background()
	hostile := h.NewNamespace()
	h.PutRemote(hostile+"/db", `{"password":"hostile-p-1"}`)
	h.Create(awsStore(hostile, "store"))
	kinds := []struct{ template, limit string }{
		{`{{ range 100000000000000 }}{{ end }}`, "exceeded the limit of 100000 range iterations"},
		{`{{ range 90000 }}{{ $_ := bcrypt "x" }}{{ end }}`, "exceeded the 2s template deadline"},
		{`{{ range 90000 }}{{ $_ := bcrypt "x" }}{{ end }}`, "exceeded the 2s template deadline"},
		{`{{ range 50000 }}{{ repeat 100 "x" }}{{ end }}`, "exceeded the template output limit of 1048576 bytes"},
		{`{{ repeat 1000000000 "x" }}`, "function repeat: the result would exceed the template value limit"},
	}
	const count = 20 // more than the 16 workers (--concurrent)
	var names []string
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("hostile-%02d", i)
		es := externalSecret(hostile, name, "store", hostile+"/db", map[string]string{"password": "password"})
		es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Data: map[string]string{"x": kinds[i%len(kinds)].template}}
		h.Create(es)
		names = append(names, name)
	}
	ordinary, key := setupDB(t, "ordinary-p-1", nil)
	h.WaitSecretValue(ordinary, "db", "password", "ordinary-p-1")
	h.WaitReason(key, esv1.ReasonSecretSynced)

	for i, name := range names {
		want := kinds[i%len(kinds)].limit
		got := h.WaitMessage(types.NamespacedName{Namespace: hostile, Name: name}, want)
		cond := readyCondition(got)
		if cond.Reason != esv1.ReasonSecretSyncedError || !strings.Contains(cond.Message, `spec.target.template.data["x"]`) {
			t.Errorf("%s: reason %s, message %q; want SecretSyncedError naming data[\"x\"] and %q", name, cond.Reason, cond.Message, want)
		}
		assertNoSecret(t, ctx, hostile, name)
	}
}

// creationPolicy Owner and Orphan never take over a Secret that lacks this ExternalSecret's
// marks: a hand-made TLS Secret, a Helm release's Secret, another ExternalSecret's Secret.
// The Secret's data, labels and annotations stay as they were, and the condition says how
// to hand the Secret over. Adding the marks it names hands it over.
func TestTenantAbuse_OwnerAndOrphanRefuseForeignSecrets(t *testing.T) {
	t.Parallel()
	for _, policy := range []esv1.ExternalSecretCreationPolicy{esv1.CreatePolicyOwner, esv1.CreatePolicyOrphan} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			h := env.T(t)
			ctx := context.Background()
			ns := h.NewNamespace()
			h.PutRemote(ns+"/db", `{"password":"takeover-p-1"}`)
			h.PutRemote(ns+"/other", `{"password":"other-p-1"}`)
			other := externalSecret(ns, "other", "store", ns+"/other", map[string]string{"password": "password"})
			other.Spec.Target.Name = "other-db"
			h.Create(awsStore(ns, "store"), other, tlsSecret(ns), helmReleaseSecret(ns))
			h.WaitSecretValue(ns, "other-db", "password", "other-p-1")

			for target, says := range map[string]string{
				"hand-made-tls":             "add that label and annotation to it",
				"sh.helm.release.v1.app.v1": "add that label and annotation to it",
				"other-db":                  `controlled by ExternalSecret "other"`,
			} {
				before := h.Secret(ns, target)
				// TLS key names, so that the TLS Secret, once handed over, can hold the data.
				es := externalSecret(ns, "take-"+strings.SplitN(target, ".", 2)[0], "store", ns+"/db", map[string]string{"tls.crt": "password", "tls.key": "password"})
				es.Spec.Target.Name = target
				es.Spec.Target.CreationPolicy = policy
				h.Create(es)
				got := h.WaitMessage(keyOf(es), says)
				if msg := readyMessage(got); readyCondition(got).Reason != esv1.ReasonSecretSyncedError || !strings.Contains(msg, "creationPolicy Merge") || !strings.Contains(msg, string(policy)) {
					t.Errorf("%s: condition %q does not say what to do", target, msg)
				}
				after := h.Secret(ns, target)
				if !equality.Semantic.DeepEqual(before.Data, after.Data) || !maps.Equal(before.Labels, after.Labels) || !maps.Equal(before.Annotations, after.Annotations) || !equality.Semantic.DeepEqual(before.OwnerReferences, after.OwnerReferences) {
					t.Errorf("%s: creationPolicy %s changed a Secret it does not own (labels %v, annotations %v)", target, policy, after.Labels, keysOfStrings(after.Annotations))
				}
			}

			// Handing the hand-made Secret over as the message says lets the ExternalSecret write it.
			s := h.Secret(ns, "hand-made-tls")
			s.Labels = map[string]string{esv1.LabelManaged: esv1.LabelManagedValue}
			s.Annotations = map[string]string{"vigil.dev/external-secret": "take-hand-made-tls"}
			if err := cp.Client.Update(ctx, s); err != nil {
				t.Fatal(err)
			}
			h.ForceSync(types.NamespacedName{Namespace: ns, Name: "take-hand-made-tls"})
			h.WaitSecretValue(ns, "hand-made-tls", "tls.crt", "takeover-p-1")
		})
	}
}

// creationPolicy Merge records the keys it writes (names only); deletionPolicy Merge then
// removes a key whose remote data is gone, and never a key someone added by hand.
func TestTenantAbuse_DeletionPolicyMergeRemovesOnlyItsOwnKeys(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote(ns+"/db", `{"password":"merge-own-p-1"}`)
	h.PutRemote(ns+"/api", "merge-own-token-1")
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}, Data: map[string][]byte{"hand": []byte("hand-added")}})
	es := externalSecret(ns, "app", "store", ns+"/db", map[string]string{"password": "password"})
	es.Spec.Data = append(es.Spec.Data, esv1.ExternalSecretData{SecretKey: "token", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: ns + "/api"}})
	es.Spec.Target.CreationPolicy = esv1.CreatePolicyMerge
	es.Spec.Target.DeletionPolicy = esv1.DeletionPolicyMerge
	h.Create(awsStore(ns, "store"), es)
	s := h.WaitSecretValue(ns, "app", "token", "merge-own-token-1")
	if got := s.Annotations["vigil.dev/managed-keys"]; got != "app=password,token" {
		t.Errorf("managed-keys annotation %q, want app=password,token", got)
	}

	h.DeleteRemote(ns + "/api")
	key := types.NamespacedName{Namespace: ns, Name: "app"}
	synced := h.WaitReason(key, esv1.ReasonSecretSynced)
	h.ForceSync(key)
	h.WaitSyncedSince(key, synced.Status.SyncedResourceVersion)
	s = h.Secret(ns, "app")
	if _, has := s.Data["token"]; has {
		t.Errorf("the key whose remote data is gone is still there")
	}
	if string(s.Data["hand"]) != "hand-added" || string(s.Data["password"]) != "merge-own-p-1" {
		t.Errorf("keys %v: the hand-added key or the remaining fetched key was lost", keys(s.Data))
	}
	if got := s.Annotations["vigil.dev/managed-keys"]; got != "app=password" {
		t.Errorf("managed-keys annotation %q, want app=password", got)
	}
}

// A value a template renders into a label that Kubernetes would refuse never reaches the
// Ready condition, in any encoding: the message names the label and the rule.
func TestTenantAbuse_LabelValueNeverInCondition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	value := "Label Refused! 9-secret"
	ns, key := setupDB(t, value, func(es *esv1.ExternalSecret) {
		literal := "team: {{ .password }}\nteam-b64: {{ .password | b64enc }}"
		es.Spec.Target.Template = &esv1.ExternalSecretTemplate{MergePolicy: "Merge", TemplateFrom: []esv1.TemplateFrom{{Literal: &literal, Target: "Labels"}}}
	})
	got := env.T(t).WaitMessage(key, `the value of label "team" is not a valid label value`)
	msg := readyMessage(got)
	for _, form := range []string{value, strings.ToLower(value), strings.ToUpper(value), base64.StdEncoding.EncodeToString([]byte(value)), fmt.Sprintf("%x", value), fmt.Sprintf("%q", value)} {
		if strings.Contains(msg, form) {
			t.Errorf("the condition shows the value (%d characters) in some encoding", len(form))
		}
	}
	assertNoSecret(t, ctx, ns, "db")
}

func tlsSecret(ns string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hand-made-tls"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("hand-made-cert"), "tls.key": []byte("hand-made-key")},
	}
}

// helmReleaseSecret looks like the Secret in which Helm stores a release.
func helmReleaseSecret(ns string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sh.helm.release.v1.app.v1", Labels: map[string]string{"owner": "helm", "name": "app", "status": "deployed", "version": "1"}},
		Type:       "helm.sh/release.v1",
		Data:       map[string][]byte{"release": []byte("H4sIAAAAAAAA-release")},
	}
}

func keyOf(es *esv1.ExternalSecret) types.NamespacedName {
	return types.NamespacedName{Namespace: es.Namespace, Name: es.Name}
}

func readyCondition(es *esv1.ExternalSecret) metav1.Condition {
	for _, c := range es.Status.Conditions {
		if c.Type == esv1.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

func assertNoSecret(t *testing.T, ctx context.Context, ns, name string) {
	t.Helper()
	var s corev1.Secret
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err == nil {
		t.Errorf("Secret %s/%s was written although its ExternalSecret failed", ns, name)
	}
}

func keysOfStrings(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
