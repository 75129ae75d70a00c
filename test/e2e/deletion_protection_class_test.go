package e2e

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Deletion protection is the business of the controller that serves the ExternalSecret:
// once its store names another controller class, Vigil takes its finalizer off (it would
// otherwise orphan that controller's Secret on deletion, and hang the ExternalSecret if
// Vigil were uninstalled).
func TestDeletionProtection_OtherControllerClassKeepsNoFinalizer(t *testing.T) {
	ht := env.T(t)
	ns := ht.NewNamespace()
	store := awsStore(ns, "store")
	ht.Create(store)
	es := waitFinalizer(ht, protectedES(ht, ns, "db", "true"), true)

	got := &esv1.SecretStore{}
	ht.Get(client.ObjectKeyFromObject(store), got)
	patch := client.MergeFrom(got.DeepCopy())
	got.Spec.Controller = "someone-else"
	if err := ht.Client.Patch(ht.Ctx, got, patch); err != nil {
		t.Fatal(err)
	}
	waitFinalizer(ht, es, false)
}
