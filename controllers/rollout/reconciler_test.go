package rollout

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/prometheus/client_golang/prometheus"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
	"github.com/vigil-dev/vigil/metrics"
)

// The minimum interval holds a rollout back and requeues it for when the interval ends;
// the decision is unit-tested here with a fake client (the e2e suite covers real rollouts).
func TestRoll_WaitsForMinimumInterval(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = esv1.AddToScheme(scheme)
	now := time.Unix(1_800_000_000, 0)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db"},
		Data: map[string][]byte{"k": []byte("new")}}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "api", Annotations: map[string]string{
		ReloaderAuto: "true",
		AnnotationSecretHashes: formatHashes(map[string]string{
			"db": secrethash.Of("", map[string][]byte{"k": []byte("old")})}),
		AnnotationRolloutHistory: strconv.FormatInt(now.Add(-10*time.Second).Unix(), 10),
	}}}
	dbRef := corev1.LocalObjectReference{Name: "db"}
	fromDB := corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: dbRef}}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", EnvFrom: []corev1.EnvFromSource{fromDB}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret, d).
		WithIndex(&esv1.ExternalSecret{}, rolloutTargetIndex, func(client.Object) []string { return nil }).Build()
	rec, _ := metrics.New(prometheus.NewRegistry())
	clk := clocktesting.NewFakeClock(now)
	r := &Reconciler{
		Client: c, Events: events.NewFakeRecorder(10), Metrics: rec, Kind: BuiltinKinds()[0],
		Options: Options{MinInterval: time.Minute, MaxPerHour: 10}, Clock: clk,
		Slots: make(chan struct{}, 1), Changes: NewChangeTimes(),
	}
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(d)})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != 50*time.Second {
		t.Errorf("RequeueAfter = %v, want 50s (1m minimum interval, last rollout 10s ago)", res.RequeueAfter)
	}
	var got appsv1.Deployment
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(d), &got); err != nil {
		t.Fatal(err)
	}
	if _, rolled := got.Spec.Template.Annotations[AnnotationSecretHashes]; rolled {
		t.Error("the workload was rolled within the minimum interval")
	}

	// Once the interval has passed, it rolls.
	clk.Step(time.Minute)
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(d)}
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(d), &got); err != nil {
		t.Fatal(err)
	}
	if _, rolled := got.Spec.Template.Annotations[AnnotationSecretHashes]; !rolled {
		t.Error("the workload was not rolled after the minimum interval")
	}
}

// One change enqueues at most MaxWorkloadsPerEvent workloads of a kind, the same ones each
// time (by name), and counts the rest as skipped.
func TestBounded_CapsTheWorkloadsOfOneEvent(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Metrics: rec, Kind: BuiltinKinds()[0]}
	names := map[string]bool{}
	for i := range MaxWorkloadsPerEvent + 5 {
		names[fmt.Sprintf("w-%05d", i)] = true
	}
	got := r.bounded(context.Background(), source{Kind: KindSecret, Name: "db"}, "ns", names)
	last := fmt.Sprintf("w-%05d", MaxWorkloadsPerEvent-1)
	if len(got) != MaxWorkloadsPerEvent || got[0].Name != "w-00000" || got[len(got)-1].Name != last {
		t.Fatalf("bounded returned %d requests (%v ... %v), want the first %d by name",
			len(got), got[0], got[len(got)-1], MaxWorkloadsPerEvent)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0.0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if f.GetName() == "vigil_rollouts_skipped_total" && l.GetName() == "reason" && l.GetValue() == "toomany" {
					skipped = m.GetCounter().GetValue()
				}
			}
		}
	}
	if skipped != 1 {
		t.Errorf("vigil_rollouts_skipped_total{reason=toomany} = %v, want 1", skipped)
	}
}
