package harness

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/metrics"
)

// WaitExternalSecret waits until ok holds for the ExternalSecret (read again each time) and
// returns it; on a timeout the error lists its conditions.
func (e *Env) WaitExternalSecret(ctx context.Context, key types.NamespacedName, timeout time.Duration,
	ok func(*esv1.ExternalSecret) bool) (*esv1.ExternalSecret, error) {
	es := &esv1.ExternalSecret{}
	err := WaitFor(ctx, timeout, func(ctx context.Context) (bool, error) {
		if err := e.Client.Get(ctx, key, es); err != nil {
			return false, err
		}
		return ok(es), nil
	})
	if err != nil {
		return es, fmt.Errorf("%w (conditions: %s)", err, Conditions(es.Status.Conditions))
	}
	return es, nil
}

// WaitReason waits until the ExternalSecret's Ready condition has the reason for its
// current generation (so a reason left from before a spec change does not count).
func (e *Env) WaitReason(ctx context.Context, key types.NamespacedName, reason string) (*esv1.ExternalSecret, error) {
	return e.WaitExternalSecret(ctx, key, e.timeout(), HasReason(reason))
}

// HasReason is true when the ExternalSecret's Ready condition has the reason and was
// written for its current generation.
func HasReason(reason string) func(*esv1.ExternalSecret) bool {
	return func(es *esv1.ExternalSecret) bool {
		c := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
		return c != nil && c.Reason == reason && c.ObservedGeneration == es.Generation
	}
}

// WaitSecretValue waits until the Secret's key holds want. Errors never carry the value,
// only whether the key is there.
func (e *Env) WaitSecretValue(ctx context.Context, ns, name, key, want string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := WaitFor(ctx, e.timeout(), func(ctx context.Context) (bool, error) {
		if err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, s); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return string(s.Data[key]) == want, nil
	})
	if err != nil {
		_, has := s.Data[key]
		return s, fmt.Errorf("Secret %s/%s key %s does not hold the expected value: %w (key present: %v)",
			ns, name, key, err, has)
	}
	return s, nil
}

// WaitEvent waits for an event (events.k8s.io) with the reason about the object of the kind
// and name in namespace ns, and returns it.
func (e *Env) WaitEvent(ctx context.Context, ns, kind, name, reason string) (*eventsv1.Event, error) {
	var found *eventsv1.Event
	err := WaitFor(ctx, e.timeout(), func(ctx context.Context) (bool, error) {
		var list eventsv1.EventList
		if err := e.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for i, ev := range list.Items {
			if ev.Regarding.Kind == kind && ev.Regarding.Name == name && ev.Reason == reason {
				found = &list.Items[i]
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("no %s event for %s %s/%s: %w", reason, kind, ns, name, err)
	}
	return found, nil
}

// Conditions formats conditions for a failure message.
func Conditions(cs []metav1.Condition) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

// ReadyMessage is the message of the Ready condition ("" without one).
func ReadyMessage(cs []metav1.Condition) string {
	if c := apimeta.FindStatusCondition(cs, esv1.ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

// WaitReason waits until the ExternalSecret's Ready condition has the reason for its
// current generation, and returns it.
func (t *T) WaitReason(key types.NamespacedName, reason string) *esv1.ExternalSecret {
	t.Helper()
	return t.WaitReasonWithin(key, reason, t.timeout())
}

// WaitReasonWithin is WaitReason with its own bound (for a reason that must come this soon).
func (t *T) WaitReasonWithin(key types.NamespacedName, reason string, within time.Duration) *esv1.ExternalSecret {
	t.Helper()
	es, err := t.WaitExternalSecret(t.Ctx, key, within, HasReason(reason))
	if err != nil {
		t.Fatalf("waiting for ExternalSecret %s to reach %s: %v", key, reason, err)
	}
	return es
}

// WaitMessage waits until the ExternalSecret's Ready condition is not True and its message
// contains want (a first pass may fail for another reason, e.g. a store not cached yet).
func (t *T) WaitMessage(key types.NamespacedName, want string) *esv1.ExternalSecret {
	t.Helper()
	es, err := t.WaitExternalSecret(t.Ctx, key, t.timeout(), func(es *esv1.ExternalSecret) bool {
		c := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
		return c != nil && c.Status != metav1.ConditionTrue && strings.Contains(c.Message, want)
	})
	if err != nil {
		t.Fatalf("waiting for ExternalSecret %s to report %q: %v", key, want, err)
	}
	return es
}

// WaitSyncedSince waits for a sync newer than the one recorded in
// status.syncedResourceVersion previous (read it before the change).
func (t *T) WaitSyncedSince(key types.NamespacedName, previous string) *esv1.ExternalSecret {
	t.Helper()
	es, err := t.WaitExternalSecret(t.Ctx, key, t.timeout(), func(es *esv1.ExternalSecret) bool {
		return HasReason(esv1.ReasonSecretSynced)(es) && es.Status.SyncedResourceVersion != previous
	})
	if err != nil {
		t.Fatalf("waiting for a new sync of %s: %v", key, err)
	}
	return es
}

// WaitRefreshedSince waits until the controller has written the ExternalSecret's status
// after since (status.refreshTime, or a Ready transition): the positive signal that it has
// processed a change, successful or not.
func (t *T) WaitRefreshedSince(key types.NamespacedName, since time.Time) *esv1.ExternalSecret {
	t.Helper()
	since = since.Truncate(time.Second) // both times are stored with second precision
	es, err := t.WaitExternalSecret(t.Ctx, key, t.timeout(), func(es *esv1.ExternalSecret) bool {
		c := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
		return es.Status.RefreshTime.After(since) || (c != nil && c.LastTransitionTime.After(since))
	})
	if err != nil {
		t.Fatalf("waiting for the controller to process %s: %v", key, err)
	}
	return es
}

// WaitSecretValue waits until the Secret's key holds want and returns the Secret.
func (t *T) WaitSecretValue(ns, name, key, want string) *corev1.Secret {
	t.Helper()
	s, err := t.Env.WaitSecretValue(t.Ctx, ns, name, key, want)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// WaitEvent waits for an event with the reason about the object of the kind and name.
func (t *T) WaitEvent(ns, kind, name, reason string) *eventsv1.Event {
	t.Helper()
	ev, err := t.Env.WaitEvent(t.Ctx, ns, kind, name, reason)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// WaitGone waits until the object no longer exists.
func (t *T) WaitGone(obj client.Object) {
	t.Helper()
	t.Eventually(fmt.Sprintf("%T %s to be deleted", obj, obj.GetName()), func(ctx context.Context) (bool, error) {
		err := t.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// WaitStore waits until the store's (SecretStore or ClusterSecretStore) Ready condition
// satisfies ok, reading it into s; want says what ok looks for, for the failure message.
func (t *T) WaitStore(key types.NamespacedName, s esv1.GenericStore, want string, ok func(c *metav1.Condition) bool) {
	t.Helper()
	err := WaitFor(t.Ctx, t.timeout(), func(ctx context.Context) (bool, error) {
		if err := t.Client.Get(ctx, key, s); err != nil {
			return false, err
		}
		c := apimeta.FindStatusCondition(s.GetStatus().Conditions, esv1.ConditionReady)
		return c != nil && ok(c), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s %s to reach %s: %v (conditions: %s)",
			s.GetKind(), key, want, err, Conditions(s.GetStatus().Conditions))
	}
}

// WaitStoreReason waits until the SecretStore's Ready condition has the reason.
func (t *T) WaitStoreReason(key types.NamespacedName, reason string) *esv1.SecretStore {
	t.Helper()
	s := &esv1.SecretStore{}
	t.WaitStore(key, s, reason, func(c *metav1.Condition) bool { return c.Reason == reason })
	return s
}

// WaitNewPass runs change, then waits until the controller has run a pass over the
// ExternalSecret after it: the positive signal to take before asserting that a change made
// nothing happen. A pass that changes nothing writes no status, so the signal is the
// object's externalsecret_reconcile_duration gauge, which every pass sets to its own
// duration: a new value is a new pass. It needs the controller's /metrics (Env.MetricsURL)
// and an ExternalSecret that had a pass before.
func (t *T) WaitNewPass(key types.NamespacedName, change func()) {
	t.Helper()
	labels := map[string]string{"namespace": key.Namespace, "name": key.Name}
	before, found := t.Scrape().Value(metrics.ExternalSecretReconcileDuration, labels)
	if !found {
		t.Fatalf("ExternalSecret %s has no %s series: it had no pass yet", key, metrics.ExternalSecretReconcileDuration)
	}
	change()
	t.Eventually(fmt.Sprintf("a new pass over ExternalSecret %s", key), func(ctx context.Context) (bool, error) {
		f, err := t.Env.Scrape(ctx)
		if err != nil {
			return false, err
		}
		now, found := f.Value(metrics.ExternalSecretReconcileDuration, labels)
		return found && now != before, nil
	})
}
