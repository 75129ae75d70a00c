package rollout

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPausePeriod_ParsedOnDeploymentsWithinLimits(t *testing.T) {
	dep := func(v string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{ReloaderPausePeriod: v}}}
	}
	for _, tc := range []struct {
		value   string
		want    time.Duration
		ok, err bool
	}{
		{"5m", 5 * time.Minute, true, false},
		{"24h", 24 * time.Hour, true, false},
		{"25h", 0, false, true},
		{"0s", 0, false, true},
		{"-1m", 0, false, true},
		{"soon", 0, false, true},
	} {
		d, ok, err := pausePeriod(dep(tc.value))
		if d != tc.want || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("%q: pausePeriod = %v, %v, %v; want %v, %v, error %v", tc.value, d, ok, err, tc.want, tc.ok, tc.err)
		}
	}
	if _, ok, err := pausePeriod(&appsv1.Deployment{}); ok || err != nil {
		t.Error("no annotation must mean no pause and no error")
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{ReloaderPausePeriod: "5m"}}}
	if _, ok, _ := pausePeriod(sts); ok {
		t.Error("a pause period is for Deployments only, as in Reloader")
	}
}

func TestRemainingPause(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		ReloaderPausePeriod: "10m", ReloaderPausedAt: start.Format(time.RFC3339),
	}}}
	if got := remainingPause(dep, start.Add(4*time.Minute)); got != 6*time.Minute {
		t.Errorf("remainingPause after 4m of 10m = %v, want 6m", got)
	}
	if got := remainingPause(dep, start.Add(11*time.Minute)); got != 0 {
		t.Errorf("remainingPause after the period = %v, want 0", got)
	}
	delete(dep.Annotations, ReloaderPausePeriod)
	if got := remainingPause(dep, start); got != 0 {
		t.Errorf("a removed period must resume at once, got %v", got)
	}
}

// A Deployment paused by a pause period keeps receiving template changes; one its user
// paused waits.
func TestDeploymentPaused_OnlyByItsUser(t *testing.T) {
	deployment := BuiltinKinds()[0]
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Paused: true}}
	if !deployment.Paused(d) {
		t.Error("a Deployment its user paused must count as paused")
	}
	d.Annotations = map[string]string{ReloaderPausedAt: "2026-01-01T10:00:00Z"}
	if deployment.Paused(d) {
		t.Error("a Deployment paused by a pause period must not count as paused by its user")
	}
}

func TestJobNamePrefix_FitsTheJobNameLabel(t *testing.T) {
	long := string(make([]byte, 80))
	if p := jobNamePrefix(long); len(p)+5 > 63 {
		t.Errorf("prefix of %d characters leaves no room for GenerateName's suffix within 63", len(p))
	}
	if p := jobNamePrefix("backup"); p != "backup-" {
		t.Errorf("jobNamePrefix = %q", p)
	}
}

func TestConfigMapHash_DataAndBinaryData(t *testing.T) {
	a := &corev1.ConfigMap{Data: map[string]string{"k": "v"}}
	b := &corev1.ConfigMap{Data: map[string]string{"k": "w"}}
	c := &corev1.ConfigMap{Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": {1}}}
	if configMapHash(a) == configMapHash(b) || configMapHash(a) == configMapHash(c) {
		t.Error("different data must hash differently")
	}
	if configMapHash(a) != configMapHash(a.DeepCopy()) {
		t.Error("the hash must be stable")
	}
}
