package rollout

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Annotations that opt a workload in, with Reloader's meaning so that users can drop
// Reloader without touching their manifests.
const (
	AnnotationRolloutOnChange = "vigil.dev/rollout-on-change" // on a workload
	AnnotationRolloutTargets  = "vigil.dev/rollout-targets"   // on an ExternalSecret: "deployment/api,statefulset/db"
	ReloaderAuto              = "reloader.stakater.com/auto"  // every referenced Secret (and ConfigMap)
	ReloaderSecretAuto        = "secret.reloader.stakater.com/auto"
	ReloaderSecretReload      = "secret.reloader.stakater.com/reload" // "a,b": Secrets by name (anchored regex)
	ReloaderSearch            = "reloader.stakater.com/search"        // referenced Secrets that carry match
	ReloaderMatch             = "reloader.stakater.com/match"         // on a Secret
	ReloaderIgnore            = "reloader.stakater.com/ignore"        // on a Secret: never triggers

	// AnnotationSecretHashes records, on the workload and on its pod template, the hash of
	// each Secret the pods were last started with (JSON: name -> hash).
	AnnotationSecretHashes = "vigil.dev/secret-hashes"
	// AnnotationRolloutHistory holds the Unix times of the rollouts of the last hour, so that
	// the loop limit survives restarts and leader changes.
	AnnotationRolloutHistory = "vigil.dev/rollout-history"
)

// secretInfo is what opt-in rules need to know of a Secret.
type secretInfo struct {
	Name        string
	Annotations map[string]string
}

// triggers returns the names of the Secrets whose changes roll the workload, sorted:
//
//   - vigil.dev/rollout-on-change, reloader.stakater.com/auto or
//     secret.reloader.stakater.com/auto: every Secret the pod template references;
//   - reloader.stakater.com/search: referenced Secrets annotated reloader.stakater.com/match;
//   - secret.reloader.stakater.com/reload: Secrets whose name matches an entry (each an
//     anchored regular expression);
//   - esTargets: Secrets of ExternalSecrets that name this workload in
//     vigil.dev/rollout-targets, when the workload opted in to them (targetOptedIn): the
//     caller filters them.
//
// A Secret annotated reloader.stakater.com/ignore never triggers, whatever the rest says.
// workloadAnnotations are the workload's opt-in annotations (optInAnnotations).
func triggers(workloadAnnotations map[string]string, referenced []string, secrets []secretInfo, esTargets []string) []string {
	byName := map[string]secretInfo{}
	for _, s := range secrets {
		byName[s.Name] = s
	}
	set := map[string]bool{}
	auto := autoOptIn(workloadAnnotations)
	search := isTrue(workloadAnnotations[ReloaderSearch])
	for _, name := range referenced {
		if auto || (search && isTrue(byName[name].Annotations[ReloaderMatch])) {
			set[name] = true
		}
	}
	if list := workloadAnnotations[ReloaderSecretReload]; list != "" {
		res := reloadPatterns(list)
		for _, s := range secrets {
			if slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(s.Name) }) {
				set[s.Name] = true
			}
		}
	}
	for _, name := range esTargets {
		set[name] = true
	}
	var out []string
	for name := range set {
		if s, ok := byName[name]; ok && isTrue(s.Annotations[ReloaderIgnore]) {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// autoOptIn reports whether a workload rolls on every Secret it references.
func autoOptIn(ann map[string]string) bool {
	return isTrue(ann[AnnotationRolloutOnChange]) || isTrue(ann[ReloaderAuto]) || isTrue(ann[ReloaderSecretAuto])
}

// targetOptedIn reports whether a workload accepts rollouts from a Secret whose
// ExternalSecret names it in vigil.dev/rollout-targets. Whoever may write an ExternalSecret
// in a namespace could otherwise restart any workload there; only the workload's owner opts
// in: vigil.dev/rollout-on-change, reloader.stakater.com/auto or
// secret.reloader.stakater.com/auto ("roll me on Secret changes"), or
// secret.reloader.stakater.com/reload naming the Secret.
func targetOptedIn(ann map[string]string, secret string) bool {
	return autoOptIn(ann) || matchesReloadList(ann[ReloaderSecretReload], secret)
}

// optInAnnotations are the annotations opt-in rules read: the workload's, over those of its
// pod template (charts often expose only podAnnotations). Vigil's own bookkeeping
// annotations opt nothing in.
func optInAnnotations(workload, template map[string]string) map[string]string {
	out := make(map[string]string, len(workload)+len(template))
	maps.Copy(out, template)
	maps.Copy(out, workload)
	return out
}

// reloadPatterns parses secret.reloader.stakater.com/reload: comma-separated names, each an
// anchored regular expression; an entry that does not compile matches its literal name.
func reloadPatterns(list string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		re, err := regexp.Compile("^(?:" + entry + ")$")
		if err != nil {
			re = regexp.MustCompile("^" + regexp.QuoteMeta(entry) + "$")
		}
		out = append(out, re)
	}
	return out
}

// matchesReloadList reports whether a Secret name is in a reload list.
func matchesReloadList(list, name string) bool {
	return slices.ContainsFunc(reloadPatterns(list), func(re *regexp.Regexp) bool { return re.MatchString(name) })
}

func isTrue(v string) bool { return strings.EqualFold(v, "true") }

// referencedSecrets lists the Secrets a pod template reads: env valueFrom, envFrom, secret
// volumes and projected volumes, in every container and init container.
func referencedSecrets(spec *corev1.PodSpec) []string {
	set := map[string]bool{}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					set[e.ValueFrom.SecretKeyRef.Name] = true
				}
			}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					set[e.SecretRef.Name] = true
				}
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			set[v.Secret.SecretName] = true
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					set[src.Secret.Name] = true
				}
			}
		}
	}
	delete(set, "")
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
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
