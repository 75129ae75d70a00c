package rollout

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestTriggers(t *testing.T) {
	secrets := []secretInfo{
		{Name: "db"},
		{Name: "api-key", Annotations: map[string]string{ReloaderMatch: "true"}},
		{Name: "tls", Annotations: map[string]string{ReloaderIgnore: "true"}},
		{Name: "db-replica"},
	}
	referenced := []string{"db", "api-key", "tls"}
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		esTargets   []string
		want        []string
	}{
		{"no opt-in", nil, nil, nil},
		{"vigil on-change: every referenced Secret but ignored ones", map[string]string{AnnotationRolloutOnChange: "true"}, nil, []string{"api-key", "db"}},
		{"reloader auto", map[string]string{ReloaderAuto: "true"}, nil, []string{"api-key", "db"}},
		{"secret auto, case-insensitive true", map[string]string{ReloaderSecretAuto: "True"}, nil, []string{"api-key", "db"}},
		{"search: referenced and matching", map[string]string{ReloaderSearch: "true"}, nil, []string{"api-key"}},
		{"reload list is anchored", map[string]string{ReloaderSecretReload: "db"}, nil, []string{"db"}},
		{"reload list regex", map[string]string{ReloaderSecretReload: "db.*, other"}, nil, []string{"db", "db-replica"}},
		{"reload list cannot override ignore", map[string]string{ReloaderSecretReload: "tls"}, nil, nil},
		{"ExternalSecret targets", nil, []string{"db-replica"}, []string{"db-replica"}},
		{"auto false is no opt-in", map[string]string{ReloaderAuto: "false"}, nil, nil},
	} {
		got := triggers(tc.annotations, referenced, secrets, tc.esTargets)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: triggers = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReloadPatterns_BadRegexIsLiteral(t *testing.T) {
	if !matchesReloadList("a(b", "a(b") || matchesReloadList("a(b", "ab") {
		t.Error("an entry that is not a valid regex must match its literal name only")
	}
}

func TestReferencedSecrets(t *testing.T) {
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "init-env"}}}}}}},
		Containers:     []corev1.Container{{EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env-from"}}}}}},
		Volumes: []corev1.Volume{
			{Name: "a", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "volume"}}},
			{Name: "b", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected"}}}}}}},
			{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "not-a-secret"}}}},
		},
	}
	want := []string{"env-from", "init-env", "projected", "volume"}
	if got := referencedSecrets(spec); !slices.Equal(got, want) {
		t.Errorf("referencedSecrets = %v, want %v", got, want)
	}
}

func TestParseTargets(t *testing.T) {
	got := parseTargets(" Deployment/api, statefulset/db,bad, /x,daemonset/ ")
	if want := []string{"deployment/api", "statefulset/db"}; !slices.Equal(got, want) {
		t.Errorf("parseTargets = %v, want %v", got, want)
	}
}

func TestChangedSecrets_NewEntriesAreNotChanges(t *testing.T) {
	recorded := map[string]string{"a": "1", "b": "2"}
	current := map[string]string{"a": "1", "b": "3", "c": "4"}
	if got := changedSecrets(recorded, current); !slices.Equal(got, []string{"b"}) {
		t.Errorf("changedSecrets = %v, want [b]", got)
	}
}

func TestRecentRollouts_KeepsTheLastHourSorted(t *testing.T) {
	now := time.Unix(10000, 0)
	got := recentRollouts("9990, 5000,junk,9000", now)
	if len(got) != 2 || got[0].Unix() != 9000 || got[1].Unix() != 9990 {
		t.Errorf("recentRollouts = %v", got)
	}
	if formatHistory(got) != "9000,9990" {
		t.Errorf("formatHistory = %q", formatHistory(got))
	}
}

func TestHashesRoundTrip(t *testing.T) {
	m := map[string]string{"b": "2", "a": "1"}
	if s := formatHashes(m); s != `{"a":"1","b":"2"}` {
		t.Errorf("formatHashes = %s (must be stable)", s)
	}
	if got := parseHashes(formatHashes(m)); got["a"] != "1" || got["b"] != "2" {
		t.Errorf("round trip lost data: %v", got)
	}
	if len(parseHashes("not json")) != 0 {
		t.Error("a malformed record must read as empty")
	}
}

// A workload named in vigil.dev/rollout-targets rolls only when its owner opted in: an
// auto annotation or a reload list naming the Secret, on the workload or its pod template.
func TestTargetOptedIn(t *testing.T) {
	for _, tc := range []struct {
		name               string
		workload, template map[string]string
		want               bool
	}{
		{"no annotations", nil, nil, false},
		{"vigil on-change", map[string]string{AnnotationRolloutOnChange: "true"}, nil, true},
		{"reloader auto", map[string]string{ReloaderAuto: "true"}, nil, true},
		{"secret auto on the pod template", nil, map[string]string{ReloaderSecretAuto: "true"}, true},
		{"reload list naming the Secret", map[string]string{ReloaderSecretReload: "other, db"}, nil, true},
		{"reload list naming another Secret", map[string]string{ReloaderSecretReload: "db-replica"}, nil, false},
		{"reload list is anchored", map[string]string{ReloaderSecretReload: "d"}, nil, false},
		{"search alone is not an opt-in for targets", map[string]string{ReloaderSearch: "true"}, nil, false},
		{"workload false wins over template true", map[string]string{ReloaderAuto: "false"}, map[string]string{ReloaderAuto: "true"}, false},
		{"Vigil's own hash record opts nothing in", map[string]string{AnnotationSecretHashes: `{"db":"x"}`}, nil, false},
	} {
		if got := targetOptedIn(optInAnnotations(tc.workload, tc.template), "db"); got != tc.want {
			t.Errorf("%s: targetOptedIn = %v, want %v", tc.name, got, tc.want)
		}
	}
}
