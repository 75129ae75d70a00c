package rollout

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"k8s.io/utils/lru"
)

// Annotations that opt a workload in, with Reloader's names and meaning so that users can
// drop Reloader without touching their manifests.
const (
	AnnotationRolloutOnChange = "vigil.dev/rollout-on-change" // on a workload: same as reloader.stakater.com/auto
	AnnotationRolloutTargets  = "vigil.dev/rollout-targets"   // on an ExternalSecret: "deployment/api,statefulset/db"
	ReloaderAuto              = "reloader.stakater.com/auto"  // every referenced Secret and ConfigMap
	ReloaderSecretAuto        = "secret.reloader.stakater.com/auto"
	ReloaderConfigMapAuto     = "configmap.reloader.stakater.com/auto"
	ReloaderSecretReload      = "secret.reloader.stakater.com/reload"    // "a,b": Secrets by name (anchored regex)
	ReloaderConfigMapReload   = "configmap.reloader.stakater.com/reload" // "a,b": ConfigMaps by name (anchored regex)
	ReloaderSecretExclude     = "secrets.exclude.reloader.stakater.com/reload"
	ReloaderConfigMapExclude  = "configmaps.exclude.reloader.stakater.com/reload"
	ReloaderSearch            = "reloader.stakater.com/search" // referenced Secrets/ConfigMaps that carry match
	ReloaderMatch             = "reloader.stakater.com/match"  // on a Secret or ConfigMap
	ReloaderIgnore            = "reloader.stakater.com/ignore" // on a Secret or ConfigMap: never triggers
	// ReloaderRolloutStrategy on an Argo Rollout: "restart" sets spec.restartAt; "rollout"
	// (the default) changes the pod template, which starts a new revision.
	ReloaderRolloutStrategy = "reloader.stakater.com/rollout-strategy"
	// ReloaderPausePeriod on a Deployment: pause it for this long when it rolls, so that
	// the changes of that period roll out together when it resumes.
	ReloaderPausePeriod = "deployment.reloader.stakater.com/pause-period"
	// ReloaderPausedAt marks a Deployment paused by a pause period (Reloader's name, so a
	// Deployment Reloader paused is resumed by Vigil after the switch).
	ReloaderPausedAt = "deployment.reloader.stakater.com/paused-at"

	// AnnotationSecretHashes records, on the workload and on its pod template, the hash of
	// each Secret (by name) and ConfigMap ("configmap/<name>") the pods were last started
	// with (JSON: key -> hash).
	AnnotationSecretHashes = "vigil.dev/secret-hashes"
	// AnnotationRolloutHistory holds the Unix times of the rollouts of the last hour, so that
	// the loop limit survives restarts and leader changes.
	AnnotationRolloutHistory = "vigil.dev/rollout-history"
)

// Resource kinds a workload can consume.
const (
	KindSecret    = "Secret"
	KindConfigMap = "ConfigMap"
)

// source is what the opt-in rules need to know of a Secret or ConfigMap.
type source struct {
	Kind        string // KindSecret or KindConfigMap
	Name        string
	Annotations map[string]string
	// Referenced: the pod template reads it (env, envFrom, volumes, projected volumes).
	Referenced bool
	// Targeted: an ExternalSecret writing this Secret names the workload in
	// vigil.dev/rollout-targets.
	Targeted bool
}

// key is the source's name in the hashes record: a Secret's name (as before ConfigMaps were
// supported), "configmap/<name>" for a ConfigMap (no name contains a slash).
func (s source) key() string {
	if s.Kind == KindConfigMap {
		return "configmap/" + s.Name
	}
	return s.Name
}

// typed are the annotation names that concern one kind of source.
type typed struct{ auto, reload, exclude string }

func annotationsFor(kind string) typed {
	if kind == KindConfigMap {
		return typed{ReloaderConfigMapAuto, ReloaderConfigMapReload, ReloaderConfigMapExclude}
	}
	return typed{ReloaderSecretAuto, ReloaderSecretReload, ReloaderSecretExclude}
}

// shouldRoll decides whether a change of src rolls a workload, with Reloader's precedence
// (its common.ShouldReload):
//
//  1. src annotated reloader.stakater.com/ignore: "true": never;
//  2. the workload's annotations are read, unless none of the opt-in annotations for this
//     kind (auto, typed auto, typed reload list, search, vigil.dev/rollout-on-change) is set
//     on the workload: then the pod template's are read instead (a whole set, never a mix);
//  3. the name is in the typed exclude list (exact names) on the workload or the pod
//     template: never (Reloader reads it on the workload only; an exclusion is never dropped);
//  4. the typed reload list names it (each entry an anchored regular expression): yes, even
//     if the pod template does not reference it;
//  5. search: "true" and src annotated match: "true", and referenced: yes;
//  6. auto or typed auto true (strconv.ParseBool, as Reloader) and referenced: yes;
//  7. an ExternalSecret naming the workload in vigil.dev/rollout-targets: yes if the workload
//     opted in to that Secret (targetOptedIn).
func shouldRoll(src source, workload, template map[string]string) bool {
	if isTrue(src.Annotations[ReloaderIgnore]) {
		return false
	}
	t := annotationsFor(src.Kind)
	ann := effectiveAnnotations(src.Kind, workload, template)
	if inList(workload[t.exclude], src.Name) || inList(template[t.exclude], src.Name) {
		return false
	}
	if matchesReloadList(ann[t.reload], src.Name) {
		return true
	}
	if src.Referenced && isTrue(ann[ReloaderSearch]) && isTrue(src.Annotations[ReloaderMatch]) {
		return true
	}
	if src.Referenced && autoFor(src.Kind, ann) {
		return true
	}
	return src.Targeted && src.Kind == KindSecret && targetOptedIn(ann, src.Name)
}

// effectiveAnnotations returns the workload's annotations when one of the opt-in
// annotations for kind is set there, else the pod template's: Reloader's fallback, which
// lets charts that expose only podAnnotations opt in.
func effectiveAnnotations(kind string, workload, template map[string]string) map[string]string {
	t := annotationsFor(kind)
	for _, k := range []string{t.reload, ReloaderAuto, t.auto, ReloaderSearch, AnnotationRolloutOnChange} {
		if _, ok := workload[k]; ok {
			return workload
		}
	}
	return template
}

// autoFor reports whether the annotations roll the workload on every referenced source of
// the kind.
func autoFor(kind string, ann map[string]string) bool {
	return parseBool(ann[ReloaderAuto]) || parseBool(ann[annotationsFor(kind).auto]) ||
		parseBool(ann[AnnotationRolloutOnChange])
}

// targetOptedIn reports whether a workload accepts rollouts from a Secret whose
// ExternalSecret names it in vigil.dev/rollout-targets. Whoever may write an ExternalSecret
// in a namespace could otherwise restart any workload there; only the workload's owner opts
// in: vigil.dev/rollout-on-change, reloader.stakater.com/auto or
// secret.reloader.stakater.com/auto ("roll me on Secret changes"), or
// secret.reloader.stakater.com/reload naming the Secret. ann are the effective annotations.
func targetOptedIn(ann map[string]string, secret string) bool {
	return autoFor(KindSecret, ann) || matchesReloadList(ann[ReloaderSecretReload], secret)
}

// MaxReloadListLength bounds a reload list: each entry is a regular expression compiled for
// every change in the namespace, so a tenant's list must not cost without limit. A longer
// list names nothing, and the workload gets a Warning event that names the limit.
const MaxReloadListLength = 4096

// MaxReloadListEntries bounds the entries of a reload list: compiling thousands of short
// patterns costs far more than a few long ones. A list with more entries names nothing, and
// the workload gets a Warning event that names the limit.
const MaxReloadListEntries = 32

// compiledLists caches compiled reload lists by their text: the watch handler evaluates
// every workload's list on every change in the namespace, and compiling there again and
// again would stall rollouts of other namespaces. Bounded, so a tenant's lists cannot grow
// it without limit.
var compiledLists = lru.New(256)

// compiles counts reload list compilations (tests check that the cache holds).
var compiles atomic.Int64

// reloadListEntries splits a reload list into its trimmed, non-empty entries.
func reloadListEntries(list string) []string {
	var out []string
	for _, entry := range strings.Split(list, ",") {
		if entry = strings.TrimSpace(entry); entry != "" {
			out = append(out, entry)
		}
	}
	return out
}

// reloadListOverLimit reports whether a reload list is longer than MaxReloadListLength or
// has more than MaxReloadListEntries entries (it then names nothing).
func reloadListOverLimit(list string) bool {
	return len(list) > MaxReloadListLength || len(reloadListEntries(list)) > MaxReloadListEntries
}

// reloadPatterns parses a reload list: comma-separated names, each an anchored regular
// expression; an entry that does not compile matches its literal name (Reloader skips it;
// no Kubernetes name contains the characters that break a regexp, so both match nothing).
// A list over the limits names nothing; a list seen before comes from the cache.
func reloadPatterns(list string) []*regexp.Regexp {
	if list == "" || reloadListOverLimit(list) {
		return nil
	}
	if cached, ok := compiledLists.Get(list); ok {
		return cached.([]*regexp.Regexp)
	}
	compiles.Add(1)
	var out []*regexp.Regexp
	for _, entry := range reloadListEntries(list) {
		re, err := regexp.Compile("^(?:" + entry + ")$")
		if err != nil {
			re = regexp.MustCompile("^" + regexp.QuoteMeta(entry) + "$")
		}
		out = append(out, re)
	}
	compiledLists.Add(list, out)
	return out
}

// matchesReloadList reports whether a name is in a reload list.
func matchesReloadList(list, name string) bool {
	if list == "" {
		return false
	}
	return slices.ContainsFunc(reloadPatterns(list), func(re *regexp.Regexp) bool { return re.MatchString(name) })
}

// inList reports whether a comma-separated exclude list holds name exactly (Reloader's
// exclude lists are names, not patterns).
func inList(list, name string) bool {
	for _, entry := range strings.Split(list, ",") {
		if strings.TrimSpace(entry) == name {
			return true
		}
	}
	return false
}

// isTrue reads search, match and ignore ("true", in any case).
func isTrue(v string) bool { return strings.EqualFold(v, "true") }

// parseBool reads the auto annotations as Reloader does (strconv.ParseBool: "true", "1",
// "t", ...); anything else is false.
func parseBool(v string) bool {
	b, _ := strconv.ParseBool(v)
	return b
}

// parseTargets parses vigil.dev/rollout-targets ("deployment/api, statefulset/db") into
// lower-case "kind/name" entries.
func parseTargets(v string) []string {
	var out []string
	for _, t := range strings.Split(v, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if kind, name, ok := strings.Cut(t, "/"); ok && kind != "" && name != "" {
			out = append(out, kind+"/"+name)
		}
	}
	return out
}
