package manager_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/test/harness"
)

// The reconcilers' events, recorded through the bounded core/v1 broadcaster, reach a real
// API server and read as before through events.k8s.io (the API the tests, kubectl events and
// the harness's WaitEvent read): the regarding object, type, reason and note, and the
// reporting controller's name. A repeated event is one Event whose count grows (a patch),
// not a new object each time.
func TestEventRecorders_EventsReachTheAPIServer(t *testing.T) {
	cp, err := harness.StartControlPlane()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops the broadcaster
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "events"}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "db"}, Spec: esv1.ExternalSecretSpec{
		SecretStoreRef: esv1.SecretStoreRef{Name: "store", Kind: esv1.SecretStoreKind},
		Data:           []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "db"}}},
	}}
	for _, obj := range []client.Object{ns, es} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	recorders, err := manager.EventRecorders(ctx, cp.Config, cp.Client.Scheme())
	if err != nil {
		t.Fatal(err)
	}
	rec := recorders("vigil-externalsecret")
	rec.Eventf(es, nil, corev1.EventTypeNormal, "Created", "Sync", "Created Secret %q", "db")
	for range 3 {
		rec.Eventf(es, nil, corev1.EventTypeWarning, "UpdateFailed", "Sync", "store %q is not ready", "store")
	}

	created := waitEvent(t, ctx, cp.Client, ns.Name, "Created", func(*eventsv1.Event) bool { return true })
	if created.Regarding.Kind != "ExternalSecret" || created.Regarding.Name != "db" || created.Regarding.UID != es.UID ||
		created.Type != corev1.EventTypeNormal || created.Note != `Created Secret "db"` ||
		created.DeprecatedSource.Component != "vigil-externalsecret" {
		t.Errorf("Created event: regarding %s %s (uid %s), type %s, note %q, source %q; want ExternalSecret db (uid %s), "+
			"Normal, note %q, source vigil-externalsecret", created.Regarding.Kind, created.Regarding.Name,
			created.Regarding.UID, created.Type, created.Note, created.DeprecatedSource.Component, es.UID, `Created Secret "db"`)
	}
	// The three identical warnings end as one Event counted three times.
	waitEvent(t, ctx, cp.Client, ns.Name, "UpdateFailed", func(e *eventsv1.Event) bool { return e.DeprecatedCount == 3 })
	var list eventsv1.EventList
	if err := cp.Client.List(ctx, &list, client.InNamespace(ns.Name)); err != nil {
		t.Fatal(err)
	}
	if n := len(list.Items); n != 2 {
		t.Errorf("%d Events in the namespace, want 2 (one Created, one UpdateFailed counted 3 times)", n)
	}
}

// waitEvent waits for an event with the reason in ns that ok accepts.
func waitEvent(
	t *testing.T, ctx context.Context, c client.Client, ns, reason string, ok func(*eventsv1.Event) bool,
) *eventsv1.Event {
	t.Helper()
	var found *eventsv1.Event
	err := harness.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		var list eventsv1.EventList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for i := range list.Items {
			if e := &list.Items[i]; e.Reason == reason && ok(e) {
				found = e
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event as wanted: %v", reason, err)
	}
	return found
}
