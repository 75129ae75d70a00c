package gcp_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
)

// Keyless identities against the harness's STS and IAM Credentials, which check the
// ServiceAccount tokens with the control plane's TokenReview (their audience included).

const (
	clusterLocation = "europe-west1"
	idns            = project + ".svc.id.goog"
)

// kubeServiceAccount creates a ServiceAccount of ns, annotated with a Google service account
// when gsa is set, and removes it after the test.
func kubeServiceAccount(t *testing.T, name, gsa string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if gsa != "" {
		sa.Annotations = map[string]string{"iam.gke.io/gcp-service-account": gsa}
	}
	if err := cp.Client.Create(context.Background(), sa); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), sa) })
}

// googleAccount creates a Google service account that may use the test project.
func googleAccount(t *testing.T, email string) {
	t.Helper()
	if _, err := sm.ServiceAccount(email, project); err != nil {
		t.Fatal(err)
	}
}

func wiStore(ksa, cluster string) *esv1.SecretStore {
	return store(func(p *esv1.GCPSMProvider) {
		p.Auth = esv1.GCPSMAuth{WorkloadIdentity: &esv1.GCPWorkloadIdentity{
			ServiceAccountRef: esv1.ServiceAccountSelector{Name: ksa},
			ClusterProjectID:  project, ClusterLocation: clusterLocation, ClusterName: cluster}}
	})
}

func lastExchange(t *testing.T) []string {
	t.Helper()
	ex := sm.Exchanges()
	if len(ex) == 0 {
		t.Fatal("no STS exchange succeeded")
	}
	return ex[len(ex)-1]
}

// GKE Workload Identity: the ServiceAccount's token, minted for the identity namespace, is
// exchanged at STS for the cluster's identity namespace and then, through IAM Credentials,
// for the annotated Google service account's token, which reads the secret.
func TestWorkloadIdentity_ActsAsTheAnnotatedAccount(t *testing.T) {
	sm.AddGKECluster(project, clusterLocation, "wi-cluster")
	gsa := "wi-reader@" + project + ".iam.gserviceaccount.com"
	googleAccount(t, gsa)
	kubeServiceAccount(t, "wi-app", gsa)
	sm.AllowImpersonation(gsa, "serviceAccount:"+idns+"["+ns+"/wi-app]")
	sm.Put(project, "", "wi-secret", nil, "wi-value")

	c := newClient(t, wiStore("wi-app", "wi-cluster"))
	if got := get(t, c, "wi-secret", ""); got != "wi-value" {
		t.Errorf("read %q through workload identity, want wi-value", got)
	}
	if aud := lastExchange(t); !slices.Equal(aud, []string{idns}) {
		t.Errorf("the ServiceAccount token's audiences are %v, want only the identity namespace %s", aud, idns)
	}
	if err := c.Validate(context.Background()); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// Without the annotation the federated principal itself is used (a binding on
// serviceAccount:<project>.svc.id.goog[<ns>/<name>]); a refusal names that principal.
func TestWorkloadIdentity_UsesTheFederatedPrincipal(t *testing.T) {
	sm.AddGKECluster(project, clusterLocation, "wi-cluster")
	kubeServiceAccount(t, "wi-direct", "")
	member := "serviceAccount:" + idns + "[" + ns + "/wi-direct]"
	sm.Grant(member, project)
	sm.Put(project, "", "wi-direct-secret", nil, "direct-value")

	c := newClient(t, wiStore("wi-direct", "wi-cluster"))
	if got := get(t, c, "wi-direct-secret", ""); got != "direct-value" {
		t.Errorf("read %q as the federated principal, want direct-value", got)
	}
	other := newClient(t, store(func(p *esv1.GCPSMProvider) {
		p.ProjectID = "other-project"
		p.Auth = wiStore("wi-direct", "wi-cluster").Spec.Provider.GCPSM.Auth
	}))
	sm.Put("other-project", "", "elsewhere", nil, "x")
	_, err := other.GetSecret(context.Background(), providers.Ref{Key: "elsewhere"})
	if err == nil || !strings.Contains(err.Error(), "PermissionDenied") || !strings.Contains(err.Error(), member) {
		t.Errorf("a project the principal may not use: %v, want PermissionDenied naming %s", err, member)
	}
}

// Refusals name the step and the field: a cluster STS does not know (invalid_target), a
// Google service account the principal may not impersonate (PERMISSION_DENIED with the
// role to grant), a ServiceAccount that does not exist; none carries a token.
func TestWorkloadIdentity_RefusalsNameTheStep(t *testing.T) {
	sm.AddGKECluster(project, clusterLocation, "wi-cluster")
	gsa := "wi-guarded@" + project + ".iam.gserviceaccount.com"
	googleAccount(t, gsa)
	kubeServiceAccount(t, "wi-denied", gsa)
	for name, tc := range map[string]struct {
		store *esv1.SecretStore
		want  []string
	}{
		"unknown cluster": {wiStore("wi-denied", "no-such-cluster"),
			[]string{"invalid_target", "HTTP 400", "auth.workloadIdentity"}},
		"no impersonation": {wiStore("wi-denied", "wi-cluster"),
			[]string{"PERMISSION_DENIED", "HTTP 403", "roles/iam.workloadIdentityUser", gsa}},
		"no ServiceAccount": {wiStore("wi-missing", "wi-cluster"),
			[]string{"auth.workloadIdentity", "wi-missing", "not found"}},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := provider().NewClient(context.Background(), tc.store, cp.Client, ns)
			if err == nil {
				t.Cleanup(c.(providers.Closer).Close)
				_, err = c.GetSecret(context.Background(), providers.Ref{Key: "anything"})
			}
			if err == nil {
				t.Fatal("read succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "ya29.") || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("message carries a token: %s", err)
			}
		})
	}
}

func wifStore(ksa, audience, gsa string) *esv1.SecretStore {
	return store(func(p *esv1.GCPSMProvider) {
		p.Auth = esv1.GCPSMAuth{WorkloadIdentityFederation: &esv1.GCPWorkloadIdentityFederation{
			ServiceAccountRef: &esv1.ServiceAccountSelector{Name: ksa}, Audience: audience,
			GCPServiceAccountEmail: gsa}}
	})
}

// Workload Identity Federation with serviceAccountRef: the ServiceAccount's token, minted
// for the pool provider's default audience, is exchanged at STS and then for
// gcpServiceAccountEmail's token; with audiences set, the token carries those instead.
func TestWorkloadIdentityFederation_ServiceAccountRef(t *testing.T) {
	aud := sm.AddPoolProvider(project, "k8s-pool", "vigil")
	gsa := "wif-reader@" + project + ".iam.gserviceaccount.com"
	googleAccount(t, gsa)
	kubeServiceAccount(t, "wif-app", "")
	member := "principal:" + strings.TrimSuffix(aud, "/providers/vigil") + "/subject/system:serviceaccount:" + ns + ":wif-app"
	sm.AllowImpersonation(gsa, member)
	sm.Put(project, "", "wif-secret", nil, "wif-value")

	c := newClient(t, wifStore("wif-app", aud, gsa))
	if got := get(t, c, "wif-secret", ""); got != "wif-value" {
		t.Errorf("read %q through federation, want wif-value", got)
	}
	if got := lastExchange(t); !slices.Equal(got, []string{"https:" + aud}) {
		t.Errorf("the ServiceAccount token's audiences are %v, want the provider's default https:%s", got, aud)
	}

	custom := sm.AddPoolProvider(project, "k8s-pool", "custom", "vigil-custom-audience")
	sm.AllowImpersonation(gsa, member)
	s := wifStore("wif-app", custom, gsa)
	s.Spec.Provider.GCPSM.Auth.WorkloadIdentityFederation.ServiceAccountRef.Audiences = []string{"vigil-custom-audience"}
	if got := get(t, newClient(t, s), "wif-secret", ""); got != "wif-value" {
		t.Errorf("read %q with serviceAccountRef.audiences, want wif-value", got)
	}
	if got := lastExchange(t); !slices.Equal(got, []string{"vigil-custom-audience"}) {
		t.Errorf("the ServiceAccount token's audiences are %v, want serviceAccountRef.audiences", got)
	}

	_, err := newClient(t, wifStore("wif-app", custom, gsa)).GetSecret(context.Background(), providers.Ref{Key: "wif-secret"})
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") ||
		!strings.Contains(err.Error(), "auth.workloadIdentityFederation") {
		t.Errorf("a token without the audience the provider allows: %v, want invalid_grant naming the field", err)
	}
}

// What Vigil does not run, or cannot trust, is refused by name before any call.
func TestKeylessConfigRefusals(t *testing.T) {
	other := "elsewhere"
	for name, tc := range map[string]struct {
		auth esv1.GCPSMAuth
		want string
	}{
		"credConfig": {esv1.GCPSMAuth{WorkloadIdentityFederation: &esv1.GCPWorkloadIdentityFederation{
			CredConfig: &esv1.ConfigMapReference{Name: "cfg", Key: "k"}}}, "credConfig"},
		"aws": {esv1.GCPSMAuth{WorkloadIdentityFederation: &esv1.GCPWorkloadIdentityFederation{
			AwsSecurityCredentials: &esv1.AwsCredentialsConfig{Region: "eu-west-1"}}}, "awsSecurityCredentials"},
		"no audience": {esv1.GCPSMAuth{WorkloadIdentityFederation: &esv1.GCPWorkloadIdentityFederation{
			ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "x"}}}, "audience is empty"},
		"foreign audience": {esv1.GCPSMAuth{WorkloadIdentityFederation: &esv1.GCPWorkloadIdentityFederation{
			ServiceAccountRef: &esv1.ServiceAccountSelector{Name: "x"}, Audience: "https://attacker.example/"}},
			"not a workload identity pool provider"},
		"cluster name": {esv1.GCPSMAuth{WorkloadIdentity: &esv1.GCPWorkloadIdentity{
			ServiceAccountRef: esv1.ServiceAccountSelector{Name: "x"}, ClusterName: "a/b"}}, "clusterName"},
		"other namespace": {esv1.GCPSMAuth{WorkloadIdentity: &esv1.GCPWorkloadIdentity{
			ServiceAccountRef: esv1.ServiceAccountSelector{Name: "x", Namespace: &other}}}, "its own namespace"},
	} {
		t.Run(name, func(t *testing.T) {
			s := store(func(p *esv1.GCPSMProvider) { p.Auth = tc.auth })
			err := provider().ValidateStore(s)
			var ce *providers.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want a configuration error naming %q", err, tc.want)
			}
		})
	}

	kubeServiceAccount(t, "bad-annotation", "someone@example.com/../x")
	sm.AddGKECluster(project, clusterLocation, "wi-cluster")
	_, err := provider().NewClient(context.Background(), wiStore("bad-annotation", "wi-cluster"), cp.Client, ns)
	if err == nil || !strings.Contains(err.Error(), "iam.gke.io/gcp-service-account") {
		t.Errorf("an annotation that is not a service account email: %v, want a refusal naming it", err)
	}
}
