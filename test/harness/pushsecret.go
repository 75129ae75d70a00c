package harness

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

// WaitPushSecret waits until ok holds for the PushSecret (read again each time) and returns
// it; on a timeout the error gives its Ready condition.
func (e *Env) WaitPushSecret(ctx context.Context, key types.NamespacedName, timeout time.Duration,
	ok func(*esv1alpha1.PushSecret) bool) (*esv1alpha1.PushSecret, error) {
	ps := &esv1alpha1.PushSecret{}
	err := WaitFor(ctx, timeout, func(ctx context.Context) (bool, error) {
		if err := e.Client.Get(ctx, key, ps); err != nil {
			return false, err
		}
		return ok(ps), nil
	})
	if err != nil {
		return ps, fmt.Errorf("%w (Ready: %s)", err, PushReady(ps))
	}
	return ps, nil
}

// PushReady returns the PushSecret's Ready condition, or nil.
func PushReady(ps *esv1alpha1.PushSecret) *esv1alpha1.PushSecretStatusCondition {
	for i := range ps.Status.Conditions {
		if ps.Status.Conditions[i].Type == esv1alpha1.PushSecretReady {
			return &ps.Status.Conditions[i]
		}
	}
	return nil
}

// PushedGeneration is true when the PushSecret's last successful push was of its current
// generation (status.syncedResourceVersion starts with it) and Ready says Synced.
func PushedGeneration(ps *esv1alpha1.PushSecret) bool {
	c := PushReady(ps)
	return c != nil && c.Reason == esv1alpha1.ReasonSynced &&
		strings.HasPrefix(ps.Status.SyncedResourceVersion, strconv.FormatInt(ps.Generation, 10)+"-")
}

// WaitPushed waits until the PushSecret's current generation is pushed (Ready, Synced).
func (t *T) WaitPushed(key types.NamespacedName) *esv1alpha1.PushSecret {
	t.Helper()
	ps, err := t.WaitPushSecret(t.Ctx, key, t.timeout(), PushedGeneration)
	if err != nil {
		t.Fatalf("waiting for PushSecret %s to be pushed: %v", key, err)
	}
	return ps
}

// WaitPushedSince waits for a successful push after the one recorded as previous
// (status.syncedResourceVersion; read it before the change).
func (t *T) WaitPushedSince(key types.NamespacedName, previous string) *esv1alpha1.PushSecret {
	t.Helper()
	ps, err := t.WaitPushSecret(t.Ctx, key, t.timeout(), func(ps *esv1alpha1.PushSecret) bool {
		return PushedGeneration(ps) && ps.Status.SyncedResourceVersion != previous
	})
	if err != nil {
		t.Fatalf("waiting for a new push of %s: %v", key, err)
	}
	return ps
}

// WaitPushMessage waits until the PushSecret's Ready condition is not True and its message
// contains want.
func (t *T) WaitPushMessage(key types.NamespacedName, want string) *esv1alpha1.PushSecret {
	t.Helper()
	ps, err := t.WaitPushSecret(t.Ctx, key, t.timeout(), func(ps *esv1alpha1.PushSecret) bool {
		c := PushReady(ps)
		return c != nil && c.Status != corev1.ConditionTrue && strings.Contains(c.Message, want)
	})
	if err != nil {
		t.Fatalf("waiting for PushSecret %s to report %q: %v", key, want, err)
	}
	return ps
}

// ForcePush sets ESO's force-sync annotation of the PushSecret to a new value: its
// syncedResourceVersion covers annotations, so the controller pushes again.
func (t *T) ForcePush(key types.NamespacedName) {
	t.Helper()
	ps := &esv1alpha1.PushSecret{}
	t.Get(key, ps)
	patch := client.MergeFrom(ps.DeepCopy())
	if ps.Annotations == nil {
		ps.Annotations = map[string]string{}
	}
	ps.Annotations[esv1.AnnotationForceSync] = time.Now().Format(time.RFC3339Nano)
	if err := t.Client.Patch(t.Ctx, ps, patch); err != nil {
		t.Fatalf("force-pushing %s: %v", key, err)
	}
}
