package rollout

import (
	"context"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
)

// present is a Secret or ConfigMap found in the workload's namespace.
type present struct {
	annotations map[string]string
	hash        func() string // computed only for the sources that roll the workload
	owner       string        // the ExternalSecret that controls a Secret, if any
}

// listKind reads the Secrets or ConfigMaps of a namespace from the cache, without copies
// (nothing here changes them). With rollouts.scope managed the Secret cache holds only the
// Secrets Vigil writes, and ConfigMaps are not read at all.
func (r *Reconciler) listKind(ctx context.Context, namespace, kind string) (map[string]present, error) {
	out := map[string]present{}
	opts := []client.ListOption{client.InNamespace(namespace), client.UnsafeDisableDeepCopy}
	if kind == KindConfigMap {
		var list corev1.ConfigMapList
		if err := r.Client.List(ctx, &list, opts...); err != nil {
			return nil, err
		}
		for i := range list.Items {
			cm := &list.Items[i]
			out[cm.Name] = present{annotations: cm.Annotations, hash: func() string { return configMapHash(cm) }}
		}
		return out, nil
	}
	var list corev1.SecretList
	if err := r.sources().List(ctx, &list, opts...); err != nil {
		return nil, err
	}
	for i := range list.Items {
		s := &list.Items[i]
		hash := func() string { return secrethash.OfSecret(s) }
		out[s.Name] = present{annotations: s.Annotations, hash: hash, owner: controllerOf(s)}
	}
	return out, nil
}

// candidates are the sources of one kind that may roll the workload: those its pod template
// references, those ExternalSecrets target at it, and those its reload list names. Only
// sources that exist count: one not (yet) written has nothing to compare.
func candidates(kind string, found map[string]present, referenced, targeted []string, reloadList string) []source {
	names := map[string]bool{}
	for _, n := range slices.Concat(referenced, targeted) {
		names[n] = true
	}
	if patterns := reloadPatterns(reloadList); len(patterns) > 0 {
		for n := range found {
			if slices.ContainsFunc(patterns, func(re *regexp.Regexp) bool { return re.MatchString(n) }) {
				names[n] = true
			}
		}
	}
	var out []source
	for n := range names {
		if f, ok := found[n]; ok {
			out = append(out, source{Kind: kind, Name: n, Annotations: f.annotations,
				Referenced: slices.Contains(referenced, n), Targeted: slices.Contains(targeted, n)})
		}
	}
	return out
}

// describe names the changed sources for events: "Secret a, ConfigMap b".
func describe(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		if name, ok := strings.CutPrefix(k, "configmap/"); ok {
			parts[i] = KindConfigMap + " " + name
		} else {
			parts[i] = KindSecret + " " + k
		}
	}
	return strings.Join(parts, ", ")
}
