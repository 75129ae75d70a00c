// Package storeref resolves the stores reconcilers use and tells which controller class
// handles a store (ESO's spec.controller and --controller-class).
package storeref

import (
	"context"
	"errors"

	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/outcome"
	"github.com/vigil-dev/vigil/internal/stores"
)

// Handles reports whether the controller of a class handles a store: a store with no
// spec.controller is handled by every controller, others only by their own class.
func Handles(class string, store esv1.GenericStore) bool {
	c := store.GetSpec().Controller
	return c == "" || c == class
}

// Get returns the store ref names, as an ExternalSecret in namespace uses it (a
// ClusterSecretStore must admit the namespace). A missing or refusing store is terminal
// (SecretSyncedError): the store watch brings the ExternalSecret back when the store
// changes. Other errors are retried.
func Get(ctx context.Context, c client.Reader, ref esv1.SecretStoreRef, namespace string) (esv1.GenericStore, error) {
	store, err := stores.Get(ctx, c, ref, namespace)
	switch {
	case err == nil:
		return store, nil
	case errors.Is(err, stores.ErrNotFound), errors.Is(err, stores.ErrNotAllowed):
		return nil, outcome.Terminal(esv1.ReasonSecretSyncedError, err)
	}
	return nil, outcome.Transient(esv1.ReasonSecretSyncedError, err)
}
