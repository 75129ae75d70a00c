package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1beta1 "github.com/vigil-dev/vigil/api/externalsecrets/v1beta1"
	"github.com/vigil-dev/vigil/test/harness"
)

// The seed manifests apply verbatim as v1beta1 (TestSeed_SyncsThroughIRSA applies them);
// here the same objects apply as v1, and a v1beta1 object reads back as v1 unchanged.
func TestSeedManifests_ApplyAsV1beta1AndV1(t *testing.T) {
	// Not parallel: it uses the seed's fixed namespace.
	ctx := context.Background()
	ns := env.T(t).NewNamespace()
	for _, f := range []string{"10-secretstore.yaml", "20-externalsecret.yaml", "30-externalsecret-datafrom.yaml"} {
		objs, err := harnessRead(filepath.Join(harness.SeedDir(), f))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range objs {
			for _, version := range []string{"v1beta1", "v1"} {
				obj := u.DeepCopy()
				obj.SetAPIVersion("external-secrets.io/" + version)
				obj.SetNamespace(ns)
				obj.SetName(u.GetName() + "-" + version)
				if err := cp.Client.Create(ctx, obj); err != nil {
					t.Errorf("%s: %s %s as %s was refused: %v", f, u.GetKind(), u.GetName(), version, err)
				}
			}
		}
	}
	// The v1beta1 ExternalSecret reads back as v1 with the same spec and ESO's defaults.
	var es esv1.ExternalSecret
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db-credentials-v1beta1"}, &es); err != nil {
		t.Fatal(err)
	}
	if es.Spec.SecretStoreRef.Name != "aws-secrets" || len(es.Spec.Data) != 2 || es.Spec.Data[0].RemoteRef.Property != "password" {
		t.Errorf("v1beta1 ExternalSecret read as v1 lost fields: %+v", es.Spec)
	}
	if es.Spec.Target.CreationPolicy != esv1.CreatePolicyOwner || es.Spec.Target.DeletionPolicy != esv1.DeletionPolicyRetain {
		t.Errorf("defaults: creationPolicy %q deletionPolicy %q, want Owner and Retain", es.Spec.Target.CreationPolicy, es.Spec.Target.DeletionPolicy)
	}
	var beta esv1beta1.ExternalSecret
	if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db-credentials-v1"}, &beta); err != nil {
		t.Fatalf("a v1 ExternalSecret cannot be read as v1beta1: %v", err)
	}
}

func harnessRead(path string) ([]*unstructured.Unstructured, error) {
	return harness.ReadManifests(path)
}

// `kubectl get es` asks the API server for a Table; its columns must read as ESO's.
func TestKubectlGetES_ColumnsReadAsESO(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ns := h.NewNamespace()
	h.PutRemote("table/db", `{"password":"x"}`)
	es := externalSecret(ns, "db", "store", "table/db", map[string]string{"password": "password"})
	h.Create(awsStore(ns, "store"), es)
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "db"}, esv1.ReasonSecretSynced)

	table := getTable(t, "/apis/external-secrets.io/v1/namespaces/"+ns+"/externalsecrets")
	var names []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			names = append(names, c.Name)
		}
	}
	if want := []string{"Name", "Store", "Refresh Interval", "Status", "Ready", "Last Sync"}; !slices.Equal(names, want) {
		t.Fatalf("kubectl get es columns = %v, want %v", names, want)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("rows = %d, want 1", len(table.Rows))
	}
	cell := map[string]any{}
	for i, c := range table.ColumnDefinitions {
		cell[c.Name] = table.Rows[0].Cells[i]
	}
	got := fmt.Sprint(cell["Name"], " ", cell["Store"], " ", cell["Refresh Interval"], " ", cell["Status"], " ", cell["Ready"])
	if want := "db store 1h0m0s SecretSynced True"; got != want {
		t.Errorf("kubectl get es row = %q, want %q", got, want)
	}
	if cell["Last Sync"] == nil || cell["Last Sync"] == "" {
		t.Errorf("LAST SYNC is empty after a sync")
	}

	stores := getTable(t, "/apis/external-secrets.io/v1/namespaces/"+ns+"/secretstores")
	var storeCols []string
	for _, c := range stores.ColumnDefinitions {
		storeCols = append(storeCols, c.Name)
	}
	for _, want := range []string{"Status", "Ready"} {
		if !slices.Contains(storeCols, want) {
			t.Errorf("kubectl get ss lacks column %s: %v", want, storeCols)
		}
	}
}

func getTable(t *testing.T, path string) *metav1.Table {
	t.Helper()
	table, err := harness.GetTable(context.Background(), cp.Config, path)
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// Manifests ESO's webhook rejects are rejected by the API server itself, with a message
// that says what to fix.
func TestBadManifests_RejectedWithClearMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := env.T(t).NewNamespace()

	twoProviders := awsStore(ns, "two")
	twoProviders.Spec.Provider.Fake = &esv1.FakeProvider{Data: []esv1.FakeProviderData{{Key: "k", Value: "v"}}}

	// deletionPolicy Delete without creationPolicy Owner is accepted as by ESO's CRD and refused
	// at sync (TestParity_PolicyConflictAppliesAndIsRefusedAtSync).

	// Duplicate data[].secretKeys are accepted (ESO accepts them); the webhook warns
	// (test/admission TestCompatWarnings).

	badKey := externalSecret(ns, "badkey", "store", "k", map[string]string{"no/slash": ""})

	noProvider := awsStore(ns, "none")
	noProvider.Spec.Provider.AWS = nil

	for _, tc := range []struct {
		name string
		obj  interface {
			GetName() string
		}
		want string
	}{
		// ESO's schema (maxProperties/minProperties 1) and so its messages.
		{"two providers", twoProviders, "spec.provider: Too many: 2: must have at most 1 item"},
		{"no provider", noProvider, "spec.provider in body should have at least 1 properties"},
		{"secretKey with a slash", badKey, "secretKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := cp.Client.Create(ctx, tc.obj.(client.Object))
			if !apierrors.IsInvalid(err) {
				t.Fatalf("creating %s: got %v, want the API server to reject it as invalid", tc.obj.GetName(), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("rejection message %q does not say %q", err.Error(), tc.want)
			}
		})
	}
}
