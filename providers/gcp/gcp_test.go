package gcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	smpb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/conformance"
	"github.com/vigil-dev/vigil/providers/gcp"
	"github.com/vigil-dev/vigil/test/harness"
	"github.com/vigil-dev/vigil/test/harness/gcpsm"
)

const (
	ns      = "gcp-tests"
	project = "vigil-test"
	reader  = "reader@vigil-test.iam.gserviceaccount.com"
)

var (
	sm *gcpsm.Server
	cp *harness.ControlPlane
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if sm, err = gcpsm.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "gcp:", err)
		return 1
	}
	defer sm.Close()
	if cp, err = harness.StartControlPlane(); err != nil {
		fmt.Fprintln(os.Stderr, "gcp:", err)
		return 1
	}
	defer func() { _ = cp.Stop() }()
	harness.TrustCluster(sm, cp.Client)
	if err := setup(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "gcp: setting up the namespace:", err)
		return 1
	}
	return m.Run()
}

// setup creates the namespace and the Secret of service-account keys the stores name:
// key.json may use the test project, other.json another project only, rotated.json is a
// key the account no longer has, and the rest are not keys Vigil accepts.
func setup(ctx context.Context) error {
	key, err := sm.ServiceAccount(reader, project)
	if err != nil {
		return err
	}
	other, err := sm.ServiceAccount("other@other-project.iam.gserviceaccount.com", "other-project")
	if err != nil {
		return err
	}
	rotated, err := sm.ServiceAccount("rotated@vigil-test.iam.gserviceaccount.com", project)
	if err != nil {
		return err
	}
	if _, err := sm.ServiceAccount("rotated@vigil-test.iam.gserviceaccount.com", project); err != nil {
		return err // a new key replaces the one in rotated.json
	}
	var f map[string]string
	_ = json.Unmarshal(key, &f)
	f["token_uri"] = "https://attacker.example/token"
	foreignURI, _ := json.Marshal(f)
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	return cp.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gcp-keys"},
		Data: map[string][]byte{
			"key.json": key, "other.json": other, "rotated.json": rotated, "foreign-uri.json": foreignURI,
			"external.json": []byte(`{"type":"external_account","audience":"a","subject_token_type":"t",` +
				`"token_url":"https://sts.googleapis.com/v1/token","credential_source":{"file":"/etc/passwd"}}`),
			"not-json": []byte("not a key"),
		}})
}

func store(mutate ...func(*esv1.GCPSMProvider)) *esv1.SecretStore {
	p := &esv1.GCPSMProvider{ProjectID: project, Auth: esv1.GCPSMAuth{SecretRef: &esv1.GCPSMAuthSecretRef{
		SecretAccessKey: esv1.SecretKeySelector{Name: "gcp-keys", Key: "key.json"}}}}
	for _, m := range mutate {
		m(p)
	}
	return &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gcp"},
		Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{GCPSM: p}}}
}

func withKey(key string) func(*esv1.GCPSMProvider) {
	return func(p *esv1.GCPSMProvider) { p.Auth.SecretRef.SecretAccessKey.Key = key }
}

func provider() *gcp.Provider { return gcp.New(gcp.Options{Endpoint: harness.GCPEndpoint(sm)}) }

func newClient(t *testing.T, s *esv1.SecretStore) providers.Client {
	t.Helper()
	c, err := provider().NewClient(context.Background(), s, cp.Client, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.(providers.Closer).Close)
	return c
}

// The provider passes the suite every provider passes, against the harness Secret Manager
// with a service-account key, directly and through the shared read path.
func TestConformance(t *testing.T) {
	setup := func(t *testing.T, values map[string]string) providers.Client {
		for k, v := range values {
			sm.Put(project, "", k, nil, v)
		}
		return newClient(t, store())
	}
	t.Run("client", func(t *testing.T) { conformance.Run(t, setup) })
	t.Run("reader", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T, values map[string]string) providers.Client {
			return providers.NewReader(setup(t, values), providers.DefaultReaderOptions())
		})
	})
}

func get(t *testing.T, c providers.Client, key, version string) string {
	t.Helper()
	v, err := c.GetSecret(context.Background(), providers.Ref{Key: key, Version: version})
	if err != nil {
		t.Fatalf("GetSecret %s version %q: %v", key, version, err)
	}
	return string(v)
}

// remoteRef.version reads a numbered version; none reads "latest". A disabled or destroyed
// latest fails with FailedPrecondition and a hint, unless secretVersionSelectionPolicy
// LatestOrFetch falls back to the newest enabled version.
func TestGetSecret_Versions(t *testing.T) {
	sm.Put(project, "", "versions", nil, "one", "two", "three")
	c := newClient(t, store())
	if got := get(t, c, "versions", ""); got != "three" {
		t.Errorf("no version read %q, want the latest, three", got)
	}
	if got := get(t, c, "versions", "1"); got != "one" {
		t.Errorf("version 1 read %q, want one", got)
	}
	if got := get(t, c, "versions", "latest"); got != "three" {
		t.Errorf("version latest read %q, want three", got)
	}
	_, err := c.GetSecret(context.Background(), providers.Ref{Key: "versions", Version: "9"})
	if !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("missing version 9: %v, want ErrNotFound", err)
	}

	for _, state := range []smpb.SecretVersion_State{smpb.SecretVersion_DISABLED, smpb.SecretVersion_DESTROYED} {
		key := "latest-" + strings.ToLower(state.String())
		sm.Put(project, "", key, nil, "old", "new")
		sm.SetState(project, "", key, 2, state)
		_, err := c.GetSecret(context.Background(), providers.Ref{Key: key})
		if err == nil || !strings.Contains(err.Error(), "FailedPrecondition") ||
			!strings.Contains(err.Error(), "secretVersionSelectionPolicy: LatestOrFetch") {
			t.Errorf("%s latest with LatestOrFail: %v, want FailedPrecondition naming the policy", state, err)
		}
		fetch := newClient(t, store(func(p *esv1.GCPSMProvider) {
			p.SecretVersionSelectionPolicy = esv1.SecretVersionSelectionPolicyLatestOrFetch
		}))
		if got := get(t, fetch, key, ""); got != "old" {
			t.Errorf("%s latest with LatestOrFetch read %q, want the newest enabled version, old", state, got)
		}
		if _, err := fetch.GetSecret(context.Background(), providers.Ref{Key: key, Version: "2"}); err == nil {
			t.Errorf("%s version 2 named explicitly was read; LatestOrFetch applies to the latest only", state)
		}
	}
}

// A key that is not a secret id (a resource path into another project) is refused before
// any call.
func TestGetSecret_RefusesResourcePaths(t *testing.T) {
	c := newClient(t, store())
	for _, key := range []string{"projects/other-project/secrets/x", "../x", "a/versions/1", ""} {
		_, err := c.GetSecret(context.Background(), providers.Ref{Key: key})
		var ce *providers.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("key %q: %v, want a configuration error", key, err)
		}
	}
}

// metadataPolicy Fetch reads labels and annotations as ESO shapes them.
func TestMetadata(t *testing.T) {
	sm.Put(project, "", "with-metadata", map[string]string{"env": "prod", "team": "pay"}, "value")
	sm.Annotate(project, "", "with-metadata", "owner", "alice")
	c := newClient(t, store())
	doc, err := c.(providers.MetadataDocumentGetter).GetMetadataDocument(context.Background(),
		providers.Ref{Key: "with-metadata"})
	if err != nil {
		t.Fatal(err)
	}
	for property, want := range map[string]string{
		"labels.env": "prod", "annotations.owner": "alice", "labels": `{"env":"prod","team":"pay"}`,
	} {
		got, err := providers.SelectProperty(doc, providers.Ref{Key: "with-metadata"}, property)
		if err != nil || string(got) != want {
			t.Errorf("property %s: %q, %v; want %q", property, got, err, want)
		}
	}
	if strings.Contains(string(doc), "value") {
		t.Errorf("the metadata document holds the secret's value")
	}
}

// find selects by name expression, by labels and by path prefix, through every page of
// the listing; secret ids come back without the project (which Google names by number).
func TestFind(t *testing.T) {
	const p = "find-project"
	key, err := sm.ServiceAccount("finder@find-project.iam.gserviceaccount.com", p)
	if err != nil {
		t.Fatal(err)
	}
	createKey(t, "finder.json", key)
	for i := range 30 {
		sm.Put(p, "", fmt.Sprintf("app-db-%02d", i), map[string]string{"team": "db"}, fmt.Sprint("db", i))
	}
	sm.Put(p, "", "app-web", map[string]string{"team": "web", "env": "prod"}, "web")
	sm.Put(p, "", "other-web", map[string]string{"team": "web"}, "other")
	c := newClient(t, store(withKey("finder.json"), func(g *esv1.GCPSMProvider) { g.ProjectID = p }))
	f := c.(providers.Finder)
	cases := []struct {
		name string
		ref  providers.FindRef
		want int
	}{
		{"name", providers.FindRef{Name: "^app-db-0[0-4]$"}, 5},
		{"labels", providers.FindRef{Tags: map[string]string{"team": "web"}}, 2},
		{"two labels", providers.FindRef{Tags: map[string]string{"team": "web", "env": "prod"}}, 1},
		{"path", providers.FindRef{Path: "app-"}, 31},
		{"path and labels", providers.FindRef{Path: "other", Tags: map[string]string{"team": "web"}}, 1},
		{"all pages", providers.FindRef{Tags: map[string]string{"team": "db"}}, 30},
	}
	for _, tc := range cases {
		got, err := f.Find(context.Background(), tc.ref)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != tc.want {
			t.Errorf("%s: %d secrets, want %d", tc.name, len(got), tc.want)
		}
	}
	got, _ := f.Find(context.Background(), providers.FindRef{Name: "^app-web$"})
	if string(got["app-web"]) != "web" {
		t.Errorf("find by name read %q for app-web, want its value", got)
	}
	if _, err := f.Find(context.Background(), providers.FindRef{Tags: map[string]string{"team": "a OR name:x"}}); err == nil {
		t.Errorf("a label value with filter syntax was accepted")
	}
}

func createKey(t *testing.T, name string, key []byte) {
	t.Helper()
	s := &corev1.Secret{}
	if err := cp.Client.Get(context.Background(), clientKey(ns, "gcp-keys"), s); err != nil {
		t.Fatal(err)
	}
	s.Data[name] = key
	if err := cp.Client.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// location reads regional secrets (projects/P/locations/L/secrets/...), not global ones of
// the same id, through the regional endpoint.
func TestRegional(t *testing.T) {
	sm.Put(project, "europe-west1", "regional", nil, "from europe-west1")
	sm.Put(project, "", "regional", nil, "global")
	c := newClient(t, store(func(p *esv1.GCPSMProvider) { p.Location = "europe-west1" }))
	if got := get(t, c, "regional", ""); got != "from europe-west1" {
		t.Errorf("regional store read %q", got)
	}
	if got, want := gcp.EndpointFor("europe-west1"), "secretmanager.europe-west1.rep.googleapis.com:443"; got != want {
		t.Errorf("regional endpoint %s, want %s", got, want)
	}
	if got, want := gcp.EndpointFor(""), "secretmanager.googleapis.com:443"; got != want {
		t.Errorf("global endpoint %s, want %s", got, want)
	}
}
