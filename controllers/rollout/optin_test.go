package rollout

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The precedence table of Reloader's common.ShouldReload, as Vigil applies it: one row per
// rule, including the pod-template fallback and its "whole set, never a mix" meaning.
func TestShouldRoll_ReloaderPrecedence(t *testing.T) {
	m := func(kv ...string) map[string]string {
		out := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	secret := func(name string, referenced bool, ann ...string) source {
		return source{Kind: KindSecret, Name: name, Referenced: referenced, Annotations: m(ann...)}
	}
	cm := func(name string, referenced bool, ann ...string) source {
		return source{Kind: KindConfigMap, Name: name, Referenced: referenced, Annotations: m(ann...)}
	}
	for _, tc := range []struct {
		name               string
		src                source
		workload, template map[string]string
		want               bool
	}{
		{"no opt-in", secret("db", true), nil, nil, false},
		{"auto, referenced", secret("db", true), m(ReloaderAuto, "true"), nil, true},
		{"auto, not referenced", secret("db", false), m(ReloaderAuto, "true"), nil, false},
		{"auto rolls on ConfigMaps too", cm("app", true), m(ReloaderAuto, "true"), nil, true},
		{"auto parses like strconv.ParseBool", secret("db", true), m(ReloaderAuto, "1"), nil, true},
		{"auto false", secret("db", true), m(ReloaderAuto, "false"), nil, false},
		{"vigil rollout-on-change is auto", cm("app", true), m(AnnotationRolloutOnChange, "true"), nil, true},
		{"secret auto: Secrets", secret("db", true), m(ReloaderSecretAuto, "True"), nil, true},
		{"secret auto: not ConfigMaps", cm("app", true), m(ReloaderSecretAuto, "true"), nil, false},
		{"configmap auto: ConfigMaps", cm("app", true), m(ReloaderConfigMapAuto, "true"), nil, true},
		{"configmap auto: not Secrets", secret("db", true), m(ReloaderConfigMapAuto, "true"), nil, false},
		{"secret reload list, unreferenced", secret("db", false), m(ReloaderSecretReload, "other, db"), nil, true},
		{"secret reload list is anchored", secret("db-replica", true), m(ReloaderSecretReload, "db"), nil, false},
		{"secret reload list regex", secret("db-replica", true), m(ReloaderSecretReload, "db.*"), nil, true},
		{"secret reload list does not name ConfigMaps", cm("db", true), m(ReloaderSecretReload, "db"), nil, false},
		{"configmap reload list", cm("app", false), m(ReloaderConfigMapReload, "app"), nil, true},
		{"search and match", secret("db", true, ReloaderMatch, "true"), m(ReloaderSearch, "true"), nil, true},
		{"search without match", secret("db", true), m(ReloaderSearch, "true"), nil, false},
		{"search and match, not referenced",
			secret("db", false, ReloaderMatch, "true"), m(ReloaderSearch, "true"), nil, false},
		{"match without search", secret("db", true, ReloaderMatch, "true"), nil, nil, false},
		{"ignore beats auto", secret("db", true, ReloaderIgnore, "true"), m(ReloaderAuto, "true"), nil, false},
		{"ignore beats a reload list",
			cm("app", true, ReloaderIgnore, "true"), m(ReloaderConfigMapReload, "app"), nil, false},
		{"exclude beats auto",
			secret("db", true), m(ReloaderAuto, "true", ReloaderSecretExclude, "tls, db"), nil, false},
		{"exclude beats a reload list",
			secret("db", true), m(ReloaderSecretReload, "db", ReloaderSecretExclude, "db"), nil, false},
		{"exclude names exactly", secret("db", true), m(ReloaderAuto, "true", ReloaderSecretExclude, "d.*"), nil, true},
		{"secrets exclude leaves ConfigMaps",
			cm("db", true), m(ReloaderAuto, "true", ReloaderSecretExclude, "db"), nil, true},
		{"configmaps exclude", cm("app", true), m(ReloaderAuto, "true", ReloaderConfigMapExclude, "app"), nil, false},
		{"exclude on the pod template holds",
			secret("db", true), m(ReloaderAuto, "true"), m(ReloaderSecretExclude, "db"), false},
		{"pod template auto (fallback)", secret("db", true), nil, m(ReloaderAuto, "true"), true},
		{"pod template reload list (fallback)",
			cm("app", false), m("unrelated", "x"), m(ReloaderConfigMapReload, "app"), true},
		{"pod template search (fallback)",
			secret("db", true, ReloaderMatch, "true"), nil, m(ReloaderSearch, "true"), true},
		{"workload auto false wins: no fallback",
			secret("db", true), m(ReloaderAuto, "false"), m(ReloaderAuto, "true"), false},
		{"workload reload list: the template's auto is not mixed in",
			secret("db", true), m(ReloaderSecretReload, "other"), m(ReloaderAuto, "true"), false},
		{"a configmap list on the workload does not stop the Secret fallback",
			secret("db", true), m(ReloaderConfigMapReload, "app"), m(ReloaderSecretAuto, "true"), true},
		{"targeted Secret, workload opted in",
			source{Kind: KindSecret, Name: "db", Targeted: true}, m(AnnotationRolloutOnChange, "true"), nil, true},
		{"targeted Secret, no opt-in", source{Kind: KindSecret, Name: "db", Targeted: true}, nil, nil, false},
		{"targeted Secret, excluded",
			source{Kind: KindSecret, Name: "db", Targeted: true},
			m(ReloaderAuto, "true", ReloaderSecretExclude, "db"), nil, false},
	} {
		if got := shouldRoll(tc.src, tc.workload, tc.template); got != tc.want {
			t.Errorf("%s: shouldRoll = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReloadPatterns_BadRegexIsLiteral(t *testing.T) {
	if !matchesReloadList("a(b", "a(b") || matchesReloadList("a(b", "ab") {
		t.Error("an entry that is not a valid regex must match its literal name only")
	}
}

func TestReferencesOf(t *testing.T) {
	ref := func(name string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: name} }
	cmRef := ref("cm-env")
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{{Env: []corev1.EnvVar{
			{Name: "X", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref("init-env")}}},
			{Name: "Y", ValueFrom: &corev1.EnvVarSource{
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: cmRef}}},
		}}},
		Containers: []corev1.Container{{EnvFrom: []corev1.EnvFromSource{
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env-from"}}},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm-env-from"}}},
		}}},
		Volumes: []corev1.Volume{
			{Name: "a", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "volume"}}},
			{Name: "b", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected"}}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm-projected"}}},
				}}}},
			{Name: "c", VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref("cm-volume")}}},
		},
	}
	got := referencesOf(spec)
	if want := []string{"env-from", "init-env", "projected", "volume"}; !slices.Equal(got.Secrets, want) {
		t.Errorf("Secrets = %v, want %v", got.Secrets, want)
	}
	if want := []string{"cm-env", "cm-env-from", "cm-projected", "cm-volume"}; !slices.Equal(got.ConfigMaps, want) {
		t.Errorf("ConfigMaps = %v, want %v", got.ConfigMaps, want)
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
		{"workload false wins over template true",
			map[string]string{ReloaderAuto: "false"}, map[string]string{ReloaderAuto: "true"}, false},
		{"reload list on the pod template", nil, map[string]string{ReloaderSecretReload: "db"}, true},
		{"Vigil's own hash record opts nothing in",
			map[string]string{AnnotationSecretHashes: `{"db":"x"}`}, nil, false},
	} {
		if got := targetOptedIn(effectiveAnnotations(KindSecret, tc.workload, tc.template), "db"); got != tc.want {
			t.Errorf("%s: targetOptedIn = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A reload list over the limit names nothing (the reconciler says so in an event).
func TestReloadList_OverTheLimitNamesNothing(t *testing.T) {
	long := "db," + strings.Repeat("x", MaxReloadListLength)
	if matchesReloadList(long, "db") {
		t.Errorf("a reload list of %d characters must name nothing (limit %d)", len(long), MaxReloadListLength)
	}
	if !matchesReloadList("db,"+strings.Repeat("x", MaxReloadListLength-10), "db") {
		t.Error("a reload list within the limit must still work")
	}
}

// A reload list with more entries than the limit names nothing, however short.
func TestReloadList_OverTheEntryLimitNamesNothing(t *testing.T) {
	names := make([]string, MaxReloadListEntries+1)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
	}
	if matchesReloadList(strings.Join(names, ","), "s0") {
		t.Errorf("a reload list of %d entries must name nothing (limit %d)", len(names), MaxReloadListEntries)
	}
	if !matchesReloadList(strings.Join(names[:MaxReloadListEntries], ","), "s0") {
		t.Errorf("a reload list of %d entries must still work", MaxReloadListEntries)
	}
}

// The watch handler evaluates each workload's list on every change: a list seen before is
// not compiled again.
func TestReloadList_CompiledOnce(t *testing.T) {
	list := fmt.Sprintf("db-%d,app-.*", time.Now().UnixNano())
	before := compiles.Load()
	for range 3 {
		if !matchesReloadList(list, "app-x") {
			t.Fatal("the list must name app-x")
		}
		candidates(KindSecret, map[string]present{"app-y": {}}, nil, nil, list)
	}
	if got := compiles.Load() - before; got != 1 {
		t.Errorf("compiled the list %d times over 6 evaluations, want 1", got)
	}
}
