package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/test/harness"
)

// A hostile tenant's PushSecrets against the guardrails (docs/security.md): what the
// namespace's secret prefix bounds, the tenant cannot write or delete outside it by editing
// its own SecretStore after a push or by naming another secret through its ARN.

// putManagedRemote creates a Secrets Manager secret tagged managed-by=external-secrets, as
// another team's PushSecret leaves it.
func putManagedRemote(h *harness.T, name, value string) {
	h.Helper()
	rememberValue(value)
	_, err := pushSM(h, h.Ctx).CreateSecret(h.Ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value),
		Tags: []smtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("external-secrets")}},
	})
	if err != nil {
		h.Fatalf("creating %s: %v", name, err)
	}
}

// A tenant pushes a key inside its prefix through its SecretStore (whose own prefix puts it
// there), then points the store's prefix at another team's folder and deletes the PushSecret
// (deletionPolicy Delete): the deletion, which would now remove the other team's secret (it
// carries the same managed-by tag), is blocked by policy and deletes nothing; deletionPolicy
// None lets the PushSecret go.
func TestPushSecret_EditedStoreDeletesNothingOutsideThePrefix(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	victim := "victim-" + ns + "/db"
	putManagedRemote(h, victim, "victim-value-5m6n")
	nsObj := &corev1.Namespace{}
	h.Get(types.NamespacedName{Name: ns}, nsObj)
	nsObj.Annotations = map[string]string{"vigil.dev/secret-prefix": ns + "/"}
	if err := h.Client.Update(h.Ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	store := awsStore(ns, "aws")
	store.Spec.Provider.AWS.Prefix = ns + "/"
	ps := pushSecret(ns, "p", "aws", "src", pushEntry("k", "db", ""))
	ps.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyDelete
	h.Create(store, sourceSecret(ns, "src", map[string]string{"k": "tenant-value-7p8q"}), ps)
	key := types.NamespacedName{Namespace: ns, Name: "p"}
	h.WaitPushed(key)
	waitRemote(h, ns+"/db", "tenant-value-7p8q")

	h.Get(types.NamespacedName{Namespace: ns, Name: "aws"}, store)
	store.Spec.Provider.AWS.Prefix = "victim-" + ns + "/"
	if err := h.Client.Update(h.Ctx, store); err != nil {
		t.Fatal(err)
	}
	if err := h.Client.Delete(h.Ctx, ps); err != nil {
		t.Fatal(err)
	}
	got := h.WaitPushMessage(key, "deleting what it pushed through SecretStore/aws is blocked by policy")
	if c := harness.PushReady(got); c.Reason != esv1.ReasonPolicyViolation || !strings.Contains(c.Message, `"`+victim+`"`) {
		t.Errorf("Ready %+v, want PolicyViolation naming %s", c, victim)
	}
	if v, ok := remoteValue(t, h.Ctx, victim); !ok || v != "victim-value-5m6n" {
		t.Fatalf("another team's secret %s was deleted or changed through an edited store", victim)
	}

	h.Get(key, got)
	got.Spec.DeletionPolicy = esv1alpha1.PushSecretDeletionPolicyNone
	if err := h.Client.Update(h.Ctx, got); err != nil {
		t.Fatal(err)
	}
	h.WaitGone(got)
	if _, ok := remoteValue(t, h.Ctx, victim); !ok {
		t.Errorf("%s was deleted after deletionPolicy None", victim)
	}
}

// Under the name prefix "<ns>-", the full ARN of the secret "<ns>" (…:secret:<ns>-XXXXXX,
// which Secrets Manager resolves to it) reads as a name inside the prefix; it is judged as
// the secret it names too, and the push is blocked: the other secret keeps its value.
func TestPushSecret_ARNOfASecretOutsideTheNamePrefixIsBlocked(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	rememberValue("stem-value-9r0s")
	out, err := pushSM(h, h.Ctx).CreateSecret(h.Ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(ns), SecretString: aws.String("stem-value-9r0s"),
		Tags: []smtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("external-secrets")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	nsObj := &corev1.Namespace{}
	h.Get(types.NamespacedName{Name: ns}, nsObj)
	nsObj.Annotations = map[string]string{"vigil.dev/secret-prefix": ns + "-"}
	if err := h.Client.Update(h.Ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	h.Create(awsStore(ns, "aws"), sourceSecret(ns, "src", map[string]string{"k": "arn-value-1t2u"}),
		pushSecret(ns, "by-arn", "aws", "src", pushEntry("k", aws.ToString(out.ARN), "")))
	got := h.WaitPushMessage(types.NamespacedName{Namespace: ns, Name: "by-arn"}, "blocked by policy")
	if c := harness.PushReady(got); c.Reason != esv1.ReasonPolicyViolation || !strings.Contains(c.Message, `"`+ns+`"`) {
		t.Errorf("Ready %+v, want PolicyViolation naming the secret %s", c, ns)
	}
	if v, ok := remoteValue(t, h.Ctx, ns); !ok || v != "stem-value-9r0s" {
		t.Error("the secret outside the name prefix was written through its ARN")
	}
}
