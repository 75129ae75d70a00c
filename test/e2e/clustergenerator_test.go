package e2e

import (
	"context"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
)

// clusterGenerator creates a ClusterGenerator (cluster-scoped) and deletes it at the end.
func clusterGenerator(t *testing.T, name, kind string, spec genv1alpha1.GeneratorSpec) {
	t.Helper()
	cg := &genv1alpha1.ClusterGenerator{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: genv1alpha1.ClusterGeneratorSpec{Kind: kind, Generator: spec}}
	if err := cp.Client.Create(context.Background(), cg); err != nil {
		t.Fatalf("creating ClusterGenerator %s: %v", name, err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), cg) })
}

// A ClusterGenerator wrapping a Password serves ExternalSecrets of any namespace through
// dataFrom[].sourceRef.generatorRef kind ClusterGenerator, as ESO's does.
func TestClusterGenerator_PasswordForAnyNamespace(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	name := "pw-" + h.NewNamespace() // cluster-scoped: unique per run
	digits, symbols, encoding := 4, 0, "hex"
	clusterGenerator(t, name, "Password", genv1alpha1.GeneratorSpec{PasswordSpec: &genv1alpha1.PasswordSpec{
		Length: 20, Digits: &digits, Symbols: &symbols, Encoding: &encoding, SecretKeys: []string{"a", "b"},
	}})
	var got []string
	for range 2 {
		ns := h.NewNamespace()
		h.Create(generatedSecret(ns, "from-cluster", "ClusterGenerator", name))
		h.WaitReason(types.NamespacedName{Namespace: ns, Name: "from-cluster"}, esv1.ReasonSecretSynced)
		s := h.Secret(ns, "from-cluster")
		for _, k := range []string{"a", "b"} {
			v := string(s.Data[k])
			rememberValue(v)
			if len(v) != 40 || strings.Trim(v, "0123456789abcdef") != "" {
				t.Errorf("%s: key %s is %d characters, not 20 bytes hex-encoded", ns, k, len(v))
			}
			got = append(got, v)
		}
	}
	for i := range got {
		for j := range i {
			if got[i] == got[j] {
				t.Errorf("two generated passwords are equal: each key and namespace gets its own")
			}
		}
	}
}

// The policies judge a ClusterGenerator's wrapped spec as the namespaced generator it stands
// for in the using namespace: an ECR spec without auth from a tenant namespace meets the
// store-ambient-credentials rule; a wrapped kind Vigil does not implement is refused by name.
func TestClusterGenerator_WrappedSpecMeetsThePoliciesAndUnimplementedKindsAreNamed(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	suffix := h.NewNamespace()
	ecr, uuid := "ecr-"+suffix, "uuid-"+suffix
	clusterGenerator(t, ecr, "ECRAuthorizationToken", genv1alpha1.GeneratorSpec{
		ECRAuthorizationTokenSpec: &genv1alpha1.ECRAuthorizationTokenSpec{Region: "us-east-1"}})
	clusterGenerator(t, uuid, "UUID", genv1alpha1.GeneratorSpec{UUIDSpec: &apiextensionsv1.JSON{Raw: []byte(`{}`)}})
	tenant := tenantNamespace(t, ctx, nil)
	h.Create(generatedSecret(tenant, "registry", "ClusterGenerator", ecr), generatedSecret(tenant, "id", "ClusterGenerator", uuid))
	blocked := h.WaitReason(types.NamespacedName{Namespace: tenant, Name: "registry"}, esv1.ReasonPolicyViolation)
	if msg := readyMessage(blocked); !strings.Contains(msg, "store-ambient-credentials") {
		t.Errorf("PolicyViolation message %q does not name store-ambient-credentials", msg)
	}
	h.WaitMessage(types.NamespacedName{Namespace: tenant, Name: "id"}, `generator kind "UUID" is not implemented by Vigil`)
}

// ESO's CRD accepts deletionPolicy Delete with creationPolicy Orphan (ESO's webhook refuses
// it): the manifest applies, and the controller refuses it at sync, never deleting a Secret
// it does not own.
func TestParity_PolicyConflictAppliesAndIsRefusedAtSync(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	es := externalSecret(ns, "orphan-delete", "store", "k", map[string]string{"a": ""})
	es.Spec.Target = esv1.ExternalSecretTarget{CreationPolicy: esv1.CreatePolicyOrphan, DeletionPolicy: esv1.DeletionPolicyDelete}
	h.Create(es)
	h.WaitMessage(types.NamespacedName{Namespace: ns, Name: "orphan-delete"}, "deletionPolicy Delete needs creationPolicy Owner")
}
