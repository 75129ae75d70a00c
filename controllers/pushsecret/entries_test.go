package pushsecret

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
)

func entry(secretKey, remoteKey string) esv1alpha1.PushSecretData {
	return esv1alpha1.PushSecretData{Match: esv1alpha1.PushSecretMatch{
		SecretKey: secretKey, RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: remoteKey}}}
}

// Each entry pushes its key, or the whole source as a JSON object of strings (no HTML
// escaping, as ESO); ReverseUnicode restores escaped key names; a missing key and a value over
// the limit are refused by name, never by value.
func TestValues(t *testing.T) {
	data := map[string][]byte{"pass": []byte("s3<cr>t"), "tls_U002E_crt": []byte("pem")}
	ps := &esv1alpha1.PushSecret{Spec: esv1alpha1.PushSecretSpec{Data: []esv1alpha1.PushSecretData{
		entry("pass", "a"), entry("", "b"),
		{Match: entry("tls.crt", "c").Match, ConversionStrategy: esv1alpha1.PushSecretConversionReverseUnicode},
	}}}
	r := &Reconciler{}
	src := &source{data: data, meta: secretMeta{Type: "kubernetes.io/tls"}}
	got, sources, err := r.values(ps, src)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0]) != "s3<cr>t" || string(got[1]) != `{"pass":"s3<cr>t","tls_U002E_crt":"pem"}` || string(got[2]) != "pem" {
		t.Errorf("values %q", got)
	}
	// The source each entry sees (a Kubernetes store writes its keys): after its own
	// conversionStrategy, with the Secret's type.
	if _, ok := sources[2].Data["tls.crt"]; !ok || sources[2].Type != "kubernetes.io/tls" || len(sources[1].Data) != 2 {
		t.Errorf("sources %+v", sources)
	}
	ps.Spec.Data = []esv1alpha1.PushSecretData{entry("nope", "a")}
	if _, _, err := r.values(ps, src); err == nil || !strings.Contains(err.Error(), `match.secretKey "nope"`) {
		t.Errorf("missing key: %v", err)
	}
	r.Limits.MaxValueBytes = 4
	ps.Spec.Data = []esv1alpha1.PushSecretData{entry("pass", "a")}
	if _, _, err := r.values(ps, src); err == nil || !strings.Contains(err.Error(), "more than the 4 bytes") ||
		strings.Contains(err.Error(), "s3<cr>t") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := reverseKeys(esv1alpha1.PushSecretConversionReverseUnicode,
		map[string][]byte{"a_U002E_b": nil, "a.b": nil}); err == nil {
		t.Error("two keys that become one were not refused")
	}
}

// A push is due on a new generation or annotation (force-sync), after the refresh interval,
// and never again for refreshInterval 0 once pushed.
func TestDue(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := &Reconciler{Clock: clocktesting.NewFakePassiveClock(now)}
	ps := &esv1alpha1.PushSecret{ObjectMeta: metav1.ObjectMeta{Generation: 2},
		Spec: esv1alpha1.PushSecretSpec{RefreshInterval: &metav1.Duration{Duration: time.Hour}}}
	if _, due := r.due(ps); !due {
		t.Error("never pushed: not due")
	}
	ps.Status.SyncedResourceVersion = syncVersion(ps)
	ps.Status.RefreshTime = metav1.NewTime(now.Add(-10 * time.Minute))
	if wait, due := r.due(ps); due || wait != 50*time.Minute {
		t.Errorf("pushed 10m ago: due %v, wait %s", due, wait)
	}
	ps.Annotations = map[string]string{"external-secrets.io/force-sync": "1"}
	if _, due := r.due(ps); !due {
		t.Error("a new annotation did not make a push due")
	}
	ps.Status.SyncedResourceVersion = syncVersion(ps)
	ps.Spec.RefreshInterval.Duration = 0
	ps.Status.RefreshTime = metav1.NewTime(now.Add(-48 * time.Hour))
	if _, due := r.due(ps); due {
		t.Error("refreshInterval 0 pushed again")
	}
}

// The Ready condition keeps its transition time while its status stays.
func TestSetReady(t *testing.T) {
	ps := &esv1alpha1.PushSecret{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	setReady(ps, corev1.ConditionFalse, esv1alpha1.ReasonErrored, "a", t0)
	setReady(ps, corev1.ConditionFalse, esv1alpha1.ReasonErrored, "b", t0.Add(time.Hour))
	if len(ps.Status.Conditions) != 1 || !ps.Status.Conditions[0].LastTransitionTime.Time.Equal(t0) ||
		ps.Status.Conditions[0].Message != "b" {
		t.Errorf("conditions %+v", ps.Status.Conditions)
	}
	setReady(ps, corev1.ConditionTrue, esv1alpha1.ReasonSynced, "ok", t0.Add(2*time.Hour))
	if !ps.Status.Conditions[0].LastTransitionTime.Time.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("a status change kept the old transition time")
	}
}

// The source's labels and annotations travel to a Kubernetes store's Secret, except what
// can carry a value (kubectl's last-applied-configuration) or a mark that is not the
// source's to give (ESO's and Vigil's managed-Secret marks, managed-by).
func TestWithMeta_LeavesOutValuesAndMarks(t *testing.T) {
	got := withMeta(map[string]string{"team": "a"}, map[string]string{
		"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"k":"v"}}`,
		"reconcile.external-secrets.io/managed":            "true",
		"vigil.dev/rollout":                                "x",
		"managed-by":                                       "external-secrets",
		"env":                                              "prod",
	})
	if len(got) != 2 || got["team"] != "a" || got["env"] != "prod" {
		t.Errorf("withMeta = %v, want team and env only", got)
	}
	if withMeta(nil, nil) != nil {
		t.Error("no labels became an empty map")
	}
}
