package kubernetes_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

var pusherOnce sync.Once

// kubePusher is a Pusher whose identity (ServiceAccount app/pusher) may get, create,
// update and delete Secrets of the remote namespace, through the real API server's RBAC.
func kubePusher(t *testing.T) providers.Pusher {
	t.Helper()
	ctx := context.Background()
	pusherOnce.Do(func() {
		for _, o := range []client.Object{
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "pusher"}},
			&rbacv1.Role{
				ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: "secret-pusher"},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
					Verbs: []string{"get", "create", "update", "delete"}}},
			},
			&rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: remoteNS, Name: "secret-pusher"},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "secret-pusher"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: storeNS, Name: "pusher"}},
			},
		} {
			if err := cp.Client.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	})
	return newClient(t, store(&esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "pusher"}})).(providers.Pusher)
}

// remote reads a Secret of the remote namespace as the admin; nil when there is none.
func remote(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	err := cp.Client.Get(context.Background(), types.NamespacedName{Namespace: remoteNS, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func meta(spec string) *apiextensionsv1.JSON {
	return &apiextensionsv1.JSON{Raw: []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1",` +
		`"kind":"PushSecretMetadata","spec":` + spec + `}`)}
}

// Without a property the remote Secret becomes the source (its keys byte for byte, its type
// and labels, data[].metadata's labels and annotations), labelled managed-by; the same push
// again writes nothing; a property adds one key and keeps the others; SecretExists sees the
// Secret and its keys; deleting a property keeps the Secret until its last key goes.
func TestPush_WritesTheSecretAsESODoes(t *testing.T) {
	ctx := context.Background()
	p := kubePusher(t)
	binary := []byte{0xff, 0x00, 0xfe, 'x'}
	src := &providers.PushSource{
		Data: map[string][]byte{"cert": binary, "user": []byte("app")}, Type: "Opaque",
		Labels: map[string]string{"team": "payments"}, Annotations: map[string]string{"note": "from-source"},
	}
	whole := providers.PushRef{Key: "pushed-whole", Source: src, Metadata: meta(`{"labels":{"env":"prod"},"annotations":{"owner":"team-a"}}`)}
	if err := p.PushSecret(ctx, whole, []byte(`ignored`), false); err != nil {
		t.Fatal(err)
	}
	s := remote(t, "pushed-whole")
	if s == nil || !bytes.Equal(s.Data["cert"], binary) || string(s.Data["user"]) != "app" || len(s.Data) != 2 {
		t.Fatalf("the remote Secret is not the source's keys byte for byte: %v", s)
	}
	if s.Labels["managed-by"] != "external-secrets" || s.Labels["team"] != "payments" || s.Labels["env"] != "prod" ||
		s.Annotations["owner"] != "team-a" || s.Annotations["note"] != "from-source" || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("labels %v, annotations %v, type %s", s.Labels, s.Annotations, s.Type)
	}
	if err := p.PushSecret(ctx, whole, nil, false); err != nil {
		t.Fatal(err)
	}
	if again := remote(t, "pushed-whole"); again.ResourceVersion != s.ResourceVersion {
		t.Error("pushing an unchanged source wrote the Secret")
	}

	prop := providers.PushRef{Key: "pushed-whole", Property: "token", SecretKey: "user", Source: src}
	if err := p.PushSecret(ctx, prop, []byte("tok-1"), false); err != nil {
		t.Fatal(err)
	}
	if s := remote(t, "pushed-whole"); string(s.Data["token"]) != "tok-1" || len(s.Data) != 3 {
		t.Errorf("a property push did not add one key and keep the others: %d keys", len(s.Data))
	}
	for ref, want := range map[providers.PushRef]bool{
		{Key: "pushed-whole"}: true, {Key: "pushed-whole", Property: "token"}: true,
		{Key: "pushed-whole", Property: "nope"}: false, {Key: "pushed-none"}: false,
	} {
		if got, err := p.SecretExists(ctx, ref); err != nil || got != want {
			t.Errorf("SecretExists(%s) = %v, %v; want %v", ref, got, err, want)
		}
	}

	for _, key := range []string{"token", "cert"} {
		if err := p.DeleteSecret(ctx, providers.PushRef{Key: "pushed-whole", Property: key}); err != nil {
			t.Fatal(err)
		}
	}
	if s := remote(t, "pushed-whole"); s == nil || len(s.Data) != 1 {
		t.Fatalf("deleting two of three keys: %v", s)
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "pushed-whole", Property: "user"}); err != nil {
		t.Fatal(err)
	}
	if remote(t, "pushed-whole") != nil {
		t.Error("deleting the last key left the Secret")
	}
	if err := p.DeleteSecret(ctx, providers.PushRef{Key: "pushed-whole"}); err != nil {
		t.Errorf("deleting a Secret that is gone: %v", err)
	}
}

// A Secret Vigil did not create is written only with overwrite (updatePolicy Replace), and
// is not taken over then (no managed-by label); it is never deleted.
func TestPush_LeavesSecretsItDidNotCreate(t *testing.T) {
	ctx := context.Background()
	p := kubePusher(t)
	putSecret(t, "theirs", `{"owner":"someone-else"}`, map[string]string{"app": "theirs"})
	ref := providers.PushRef{Key: "theirs", Property: "token", SecretKey: "k",
		Source: &providers.PushSource{Data: map[string][]byte{"k": []byte("v")}}}
	if err := p.PushSecret(ctx, ref, []byte("v"), false); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("push without overwrite: %v, want ErrNotManaged", err)
	}
	if s := remote(t, "theirs"); len(s.Data) != 1 {
		t.Error("a Secret Vigil did not create was written without overwrite")
	}
	if err := p.PushSecret(ctx, ref, []byte("v"), true); err != nil {
		t.Fatal(err)
	}
	s := remote(t, "theirs")
	if string(s.Data["token"]) != "v" || string(s.Data["owner"]) != "someone-else" || s.Labels["app"] != "theirs" {
		t.Errorf("overwrite did not merge the property into the Secret: %d keys, labels %v", len(s.Data), s.Labels)
	}
	if _, ok := s.Labels["managed-by"]; ok {
		t.Error("overwriting a Secret made Vigil its owner")
	}
	if err := p.DeleteSecret(ctx, ref); !errors.Is(err, providers.ErrNotManaged) {
		t.Errorf("delete: %v, want ErrNotManaged", err)
	}
	if s := remote(t, "theirs"); s == nil || string(s.Data["token"]) != "v" {
		t.Error("a Secret Vigil did not create was deleted (or lost a key)")
	}
}

// What Vigil does not do is refused by field before any request: one key without a
// property (ESO's rule), a remote namespace in the metadata, a managed-by label in the
// metadata, a name that is no Secret name, a whole push that would change a Secret's type.
// An identity without the grant is refused by the API server (Forbidden), not by Vigil.
func TestPush_Refusals(t *testing.T) {
	ctx := context.Background()
	p := kubePusher(t)
	src := &providers.PushSource{Data: map[string][]byte{"k": []byte("v")}}
	for _, tc := range []struct {
		ref  providers.PushRef
		want string
	}{
		{providers.PushRef{Key: "r1", SecretKey: "k", Source: src}, "needs remoteRef.property"},
		{providers.PushRef{Key: "r2", Source: src, Metadata: meta(`{"remoteNamespace":"kube-system"}`)}, "remoteNamespace is not supported"},
		{providers.PushRef{Key: "r3", Source: src, Metadata: meta(`{"labels":{"managed-by":"external-secrets"}}`)}, "may not set"},
		{providers.PushRef{Key: "r4", Source: src, Metadata: meta(`{"targetMergePolicy":"Sometimes"}`)}, "not Merge, Replace or Ignore"},
		{providers.PushRef{Key: "a/b", Source: src}, "must be a Secret name"},
		{providers.PushRef{Key: "r5", Property: "a/b", Source: src}, "must be a Secret key"},
	} {
		err := p.PushSecret(ctx, tc.ref, []byte("v"), true)
		var cfg *providers.ConfigError
		if !errors.As(err, &cfg) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a ConfigError containing %q", tc.ref, err, tc.want)
		}
	}
	if err := p.PushSecret(ctx, providers.PushRef{Key: "typed", Source: src}, nil, false); err != nil {
		t.Fatal(err)
	}
	tls := &providers.PushSource{Type: "kubernetes.io/tls", Data: map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}}
	if err := p.PushSecret(ctx, providers.PushRef{Key: "typed", Source: tls}, nil, false); err == nil ||
		!strings.Contains(err.Error(), "type cannot change") {
		t.Errorf("changing the type: %v", err)
	}

	reader := newClient(t, store(saAuth)).(providers.Pusher)
	if err := reader.PushSecret(ctx, providers.PushRef{Key: "forbidden", Source: src}, nil, false); err == nil ||
		!strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("an identity that may only read: %v, want Forbidden", err)
	}
	if remote(t, "forbidden") != nil {
		t.Error("an identity without the grant created a Secret")
	}
}
