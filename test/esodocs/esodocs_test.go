// Package esodocs applies the External Secrets Operator's own documentation examples
// (test/fixtures/eso-docs, copied from ESO's docs/snippets) to a real kube-apiserver with
// Vigil's CRDs installed, the way `kubectl apply --dry-run=server --validate=strict` does
// for a user migrating from ESO: every example of a kind Vigil serves must be accepted.
// A second kube-apiserver with ESO's own CRDs (test/fixtures/eso-crds) is the control: the
// few examples Vigil refuses must be refused by ESO's CRDs too (errors in ESO's docs).
package esodocs

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vigil-dev/vigil/test/harness"
)

const namespace = "eso-docs"

var (
	cp     *harness.ControlPlane // Vigil's CRDs
	eso    client.Client         // ESO's CRDs, the control
	eso016 client.Client         // ESO 0.16.2's CRDs, the control for that release's examples
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "esodocs:", err); return 1 }
	var err error
	if cp, err = harness.StartControlPlane(); err != nil {
		return fail(err)
	}
	defer func() { _ = cp.Stop() }()
	esoEnv, c, err := startESO(filepath.Join("eso-crds", "*.yaml.gz"))
	if err != nil {
		return fail(err)
	}
	defer func() { _ = esoEnv.Stop() }()
	eso = c
	eso016Env, c, err := startESO(filepath.Join("eso-0.16", "crds", "*.yaml.gz"))
	if err != nil {
		return fail(err)
	}
	defer func() { _ = eso016Env.Stop() }()
	eso016 = c
	for _, c := range []client.Client{cp.Client, eso, eso016} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
		if err := c.Create(context.Background(), ns); err != nil {
			return fail(err)
		}
	}
	return m.Run()
}

// startESO starts a kube-apiserver with ESO's own CRDs matching glob under test/fixtures
// (gunzipped into a temporary folder).
func startESO(glob string) (*envtest.Environment, client.Client, error) {
	dir, err := os.MkdirTemp("", "eso-crds-")
	if err != nil {
		return nil, nil, err
	}
	gz, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "test", "fixtures", glob))
	if err != nil || len(gz) == 0 {
		return nil, nil, fmt.Errorf("ESO's CRDs missing: nothing matches test/fixtures/%s (%v)", glob, err)
	}
	for _, f := range gz {
		if err := gunzip(f, filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".gz"))); err != nil {
			return nil, nil, err
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: os.Getenv("KUBEBUILDER_ASSETS"),
		CRDDirectoryPaths:     []string{dir},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting the control kube-apiserver: %w", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		_ = env.Stop()
		return nil, nil, err
	}
	return env, c, nil
}

func gunzip(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// notServed lists the ESO kinds Vigil does not serve (a user applying them gets "no matches
// for kind"), each with the reason. A kind that becomes served must leave this list.
var notServed = map[string]string{
	"external-secrets.io/v1alpha1 ClusterSecretStore": "ESO no longer serves v1alpha1 stores either (the passworddepot example is outdated)",
	"external-secrets.io/v1alpha1 ExternalSecret":     "ESO no longer serves v1alpha1 ExternalSecrets either (the passworddepot examples are outdated)",
	"external-secrets.io/v1beta1 PushSecret":          "ESO serves PushSecret only as v1alpha1 too (template-v2-push-secret.yaml is wrong)",
}

// refused lists the examples of served kinds that Vigil's CRDs refuse, each with the reason;
// every one must be refused by ESO's own CRDs too (checkRefused asserts it): they are errors
// in ESO's documentation, not gaps in Vigil. An example that becomes accepted must leave the
// list. Baseline before the parity work: 78 files refused by schema, 134 of 243 in all.
// Since ESO's own schemas validate the providers and generators Vigil does not implement
// (hack/eso-schemas), the examples with errors in those are refused here too, as by ESO.
var refused = map[string]string{
	"generator-cloudsmith.yaml":                                      "ESO refuses it too: spec.apiHost is not a field (apiUrl is)",
	"generator-gcr.yaml":                                             "ESO refuses it too: its secret and service account references have empty names and keys",
	"github-secret-store.yaml":                                       "ESO refuses it too: appID and installationID are the placeholder \"string\", not integers",
	"ibm-secret-store.yaml":                                          "ESO refuses it too: auth sets both secretRef and containerAuth (at most one)",
	"nebius-mysterybox-secret-store.yaml":                            "ESO refuses it too: caProvider.certSecretRef name and key are <placeholders>",
	"onboardbase-generic-secret-store.yaml":                          "ESO refuses it too: auth.apiKey/passcode are not fields (apiKeyRef/passcodeRef are)",
	"oracle-instance-principal.yaml":                                 "ESO refuses it too: oracle.region and oracle.vault are required",
	"oracle-principal-type.yaml":                                     "ESO refuses it too: principalType is a <placeholder>, region and vault are required",
	"oracle-secret-store-pushsecret.yaml":                            "ESO refuses it too: oracle.region and oracle.vault are required",
	"oracle-secret-store.yaml":                                       "ESO refuses it too: auth.tenancy/user, region and vault are required",
	"oracle-workload-identity.yaml":                                  "ESO refuses it too: serviceAccountRef.name, region and vault are required",
	"full-cluster-external-secret.yaml":                              "ESO refuses it too: dataFrom[0] sets key/property/version directly (they belong under extract)",
	"full-cluster-push-secret.yaml":                                  "ESO refuses it too: selector sets both secret and generatorRef (at most one)",
	"full-cluster-secret-store.yaml":                                 "ESO refuses it too: vault.caBundle is \"...\", not base64",
	"full-external-secret.yaml":                                      "ESO refuses it too: a metadata.annotations value is a number",
	"full-secret-store.yaml":                                         "ESO refuses it too: vault.caBundle is \"...\", not base64",
	"gcpsm-sa-secret-store.yaml":                                     "ESO refuses it too: projectID is a placeholder list ([[...]]), not a string",
	"gcpsm-wif-core-controller-secret-store.yaml":                    "ESO refuses it too: projectID is a placeholder list ([[...]]), not a string",
	"gcpsm-wif-iam-secret-store.yaml":                                "ESO refuses it too: projectID is a placeholder list ([[...]]), not a string",
	"gcpsm-wif-non-native-iam-secret-store.yaml":                     "ESO refuses it too: projectID is a placeholder list ([[...]]), not a string",
	"gcpsm-wif-sa-secret-store-with-explicit-name-and-location.yaml": "ESO refuses it too: projectID and cluster fields are placeholder lists",
	"gcpsm-wif-sa-secret-store.yaml":                                 "ESO refuses it too: projectID is a placeholder list ([[...]]), not a string",
	"github-push-secret.yaml":                                        "ESO refuses it too: selector.secret.name EXTSERCRET is not a DNS name",
	"ibm-external-secret-with-metadata.yaml":                         "ESO refuses it too: dataFrom[0].secretKey is not a field",
	"multiline-template-v1-external-secret.yaml":                     "ESO refuses it too: target.engineVersion is not a field (template engine v1 was removed)",
	"ngrok-push-secret-with-metadata.yaml":                           "ESO refuses it too: selector.secret.name SECRET_NAME is not a DNS name",
	"ngrok-push-secret.yaml":                                         "ESO refuses it too: selector.secret.name SECRET_NAME is not a DNS name",
	"pkcs12-template-v1-external-secret.yaml":                        "ESO refuses it too: template engineVersion v1 was removed (only v2)",
	"vault-mtls-store.yaml":                                          "ESO refuses it too: vault.tls takes certSecretRef/keySecretRef, not clientCert/secretRef",
}

// outcome is what happened to one object of one example file.
type outcome struct {
	file, kind, name string
	served           bool
	err              error
	esoErr           error // the same object against ESO's CRDs
}

func TestESODocExamples_AreAcceptedByVigilsCRDs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "test", "fixtures", "eso-docs", "*.yaml"))
	if err != nil || len(files) < 200 {
		t.Fatalf("want the ESO doc examples in test/fixtures/eso-docs, found %d (%v)", len(files), err)
	}
	var all []outcome
	for _, f := range files {
		all = append(all, applyFile(t, f, eso)...)
	}
	checkServed(t, all)
	checkRefused(t, all)
}

// applyFile dry-runs every ESO object of one file with strict field validation, on Vigil's
// CRDs and on control, a kube-apiserver with ESO's.
func applyFile(t *testing.T, path string, control client.Client) []outcome {
	t.Helper()
	objs, err := harness.ReadManifests(path)
	if err != nil {
		t.Errorf("%s does not parse: %v", filepath.Base(path), err)
		return nil
	}
	var out []outcome
	for _, u := range objs {
		if !strings.Contains(u.GetAPIVersion(), "external-secrets.io/") {
			continue
		}
		o := outcome{file: filepath.Base(path), kind: u.GetKind(), name: u.GetName(), served: true}
		o.err = dryRun(cp.Client, u)
		o.esoErr = dryRun(control, u)
		o.kind = u.GetAPIVersion() + " " + u.GetKind()
		if meta.IsNoMatchError(o.err) {
			o.served = false
		}
		out = append(out, o)
	}
	return out
}

func dryRun(c client.Client, u *unstructured.Unstructured) error {
	obj := u.DeepCopy()
	mapping, err := c.RESTMapper().RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
	if err != nil {
		return err
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		obj.SetNamespace(namespace)
	}
	return c.Create(context.Background(), obj, client.DryRunAll, client.FieldValidation("Strict"))
}

// checkServed asserts that exactly the kinds in notServed are not served.
func checkServed(t *testing.T, all []outcome) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range all {
		if o.served {
			if _, listed := notServed[o.kind]; listed {
				t.Errorf("%s is served now: remove it from notServed", o.kind)
			}
			continue
		}
		seen[o.kind] = true
		if _, listed := notServed[o.kind]; !listed {
			t.Errorf("%s (%s) is not served by Vigil and not listed in notServed: %v", o.kind, o.file, o.err)
		}
	}
	t.Logf("kinds not served: %d (%s)", len(seen), strings.Join(sortedKeys(seen), ", "))
}

// checkRefused asserts that every example of a served kind is accepted, except those listed
// in refused, which must still be refused.
func checkRefused(t *testing.T, all []outcome) {
	t.Helper()
	served, bad := 0, map[string]bool{}
	for _, o := range all {
		if !o.served {
			continue
		}
		served++
		_, listed := refused[o.file]
		switch {
		case o.err != nil && !listed:
			t.Errorf("%s: %s %s is refused: %v", o.file, o.kind, o.name, o.err)
			bad[o.file] = true
		case o.err != nil:
			bad[o.file] = true
			if o.esoErr == nil {
				t.Errorf("%s: %s %s is accepted by ESO's CRDs but refused by Vigil's: %v", o.file, o.kind, o.name, o.err)
			}
		}
	}
	for f := range refused {
		if !bad[f] {
			t.Errorf("%s is accepted now: remove it from refused", f)
		}
	}
	t.Logf("objects of served kinds: %d; example files refused: %d", served, len(bad))
	files, refusedFiles := map[string]bool{}, map[string]bool{}
	for _, o := range all {
		files[o.file] = true
		if o.err != nil {
			refusedFiles[o.file] = true
		}
	}
	t.Logf("ESO doc example files with any object refused (a kind not served or a schema error): %d of %d",
		len(refusedFiles), len(files))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
