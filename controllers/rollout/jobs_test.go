package rollout

import (
	"context"
	"errors"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// A pass that ran a CronJob's Job but stopped before recording the hashes (a crash, a
// failed patch) is retried without running a second Job; inputs changed back to earlier
// values run one again.
func TestRunCronJob_RetryRunsNoSecondJob(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "backup", UID: "cj-uid",
		Annotations: map[string]string{AnnotationSecretHashes: "old"}}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cj).Build()
	failPatch := interceptor.NewClient(c, interceptor.Funcs{
		Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
			return errors.New("the controller stopped here")
		},
	})
	run := func(c client.Client, hashes string) error {
		before := &batchv1.CronJob{}
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(cj), before); err != nil {
			t.Fatal(err)
		}
		obj := before.DeepCopy()
		setSecretHashes(&obj.Annotations, hashes)
		return runCronJob(context.Background(), c, obj, before, hashes, metav1.Now().Time)
	}
	jobs := func() int {
		var l batchv1.JobList
		if err := c.List(context.Background(), &l); err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	if err := run(failPatch, "new"); err == nil || jobs() != 1 {
		t.Fatalf("first pass: err %v, %d Jobs; want the patch error after one Job", err, jobs())
	}
	if err := run(c, "new"); err != nil || jobs() != 1 {
		t.Fatalf("retry: err %v, %d Jobs; want no second Job", err, jobs())
	}
	got := &batchv1.CronJob{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(cj), got); err != nil ||
		got.Annotations[AnnotationSecretHashes] != "new" {
		t.Fatalf("retry did not record the hashes: %v %v", err, got.Annotations)
	}
	if err := run(c, "old"); err != nil || jobs() != 2 {
		t.Fatalf("changed back: err %v, %d Jobs; want a second Job", err, jobs())
	}
}
