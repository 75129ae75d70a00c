package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kind is a workload kind the rollout controller can roll. Deployments, StatefulSets and
// DaemonSets are rolled by an annotation on their pod template (the same way `kubectl
// rollout restart` does); an Argo Rollout the same way or through spec.restartAt (its
// rollout-strategy annotation); a Job is recreated and a CronJob runs a Job now, as
// Reloader does (jobs.go).
type Kind struct {
	// Name is the kind as in "deployment/api" (lower case).
	Name string
	// New returns an empty object of the kind.
	New func() client.Object
	// NewList returns an empty list of the kind.
	NewList func() client.ObjectList
	// Template returns the pod template of an object.
	Template func(client.Object) (*corev1.PodTemplateSpec, error)
	// Paused reports whether the user paused rollouts of the object.
	Paused func(client.Object) bool
	// Roll replaces the object's pods, recording hashes where the kind has a pod template
	// that drives rollouts, and writes obj (whose metadata the reconciler already changed)
	// compared with before.
	Roll func(ctx context.Context, c client.Client, obj, before client.Object, hashes string, now time.Time) error
	// LeaveControlled: objects with a controller owner are rolled by their owner (a Job a
	// CronJob created).
	LeaveControlled bool
}

// BuiltinKinds are the apps/v1 and batch/v1 workloads.
func BuiltinKinds() []Kind {
	return []Kind{
		{
			Name:    "deployment",
			New:     func() client.Object { return &appsv1.Deployment{} },
			NewList: func() client.ObjectList { return &appsv1.DeploymentList{} },
			Template: func(o client.Object) (*corev1.PodTemplateSpec, error) {
				return &o.(*appsv1.Deployment).Spec.Template, nil
			},
			// A Deployment paused by a pause period is not paused by its user: changes keep
			// reaching its template (pause.go).
			Paused: func(o client.Object) bool {
				return o.(*appsv1.Deployment).Spec.Paused && o.GetAnnotations()[ReloaderPausedAt] == ""
			},
			Roll: patchTemplate,
		},
		{
			Name:    "statefulset",
			New:     func() client.Object { return &appsv1.StatefulSet{} },
			NewList: func() client.ObjectList { return &appsv1.StatefulSetList{} },
			Template: func(o client.Object) (*corev1.PodTemplateSpec, error) {
				return &o.(*appsv1.StatefulSet).Spec.Template, nil
			},
			Paused: func(client.Object) bool { return false },
			Roll:   patchTemplate,
		},
		{
			Name:    "daemonset",
			New:     func() client.Object { return &appsv1.DaemonSet{} },
			NewList: func() client.ObjectList { return &appsv1.DaemonSetList{} },
			Template: func(o client.Object) (*corev1.PodTemplateSpec, error) {
				return &o.(*appsv1.DaemonSet).Spec.Template, nil
			},
			Paused: func(client.Object) bool { return false },
			Roll:   patchTemplate,
		},
		JobKind(),
		CronJobKind(),
	}
}

// patchTemplate records the hashes on the pod template, which starts a rolling update.
func patchTemplate(ctx context.Context, c client.Client, obj, before client.Object, hashes string, _ time.Time) error {
	var t *corev1.PodTemplateSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		t = &o.Spec.Template
	case *appsv1.StatefulSet:
		t = &o.Spec.Template
	case *appsv1.DaemonSet:
		t = &o.Spec.Template
	default:
		return fmt.Errorf("no pod template to patch on %T", obj)
	}
	setSecretHashes(&t.Annotations, hashes)
	return c.Patch(ctx, obj, client.MergeFrom(before))
}

// ArgoRolloutGVK is the Argo Rollouts kind, rolled when its CRD is installed.
var ArgoRolloutGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}

// ArgoRolloutKind rolls Argo Rollouts as Reloader does: by default (rollout-strategy
// "rollout") through the pod template, which makes a new revision that goes through the
// Rollout's canary or blue-green steps; with rollout-strategy "restart" through
// spec.restartAt, which restarts the pods of the current revision.
func ArgoRolloutKind() Kind {
	return Kind{
		Name: "rollout",
		New: func() client.Object {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(ArgoRolloutGVK)
			return u
		},
		NewList: func() client.ObjectList {
			u := &unstructured.UnstructuredList{}
			u.SetGroupVersionKind(ArgoRolloutGVK.GroupVersion().WithKind("RolloutList"))
			return u
		},
		Template: argoTemplate,
		Paused: func(o client.Object) bool {
			p, _, _ := unstructured.NestedBool(o.(*unstructured.Unstructured).Object, "spec", "paused")
			return p
		},
		Roll: rollArgo,
	}
}

func argoTemplate(o client.Object) (*corev1.PodTemplateSpec, error) {
	raw, found, err := unstructured.NestedMap(o.(*unstructured.Unstructured).Object, "spec", "template")
	if err != nil || !found {
		return &corev1.PodTemplateSpec{}, err
	}
	var t corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &t); err != nil {
		return nil, fmt.Errorf("reading spec.template of Rollout %s: %w", o.GetName(), err)
	}
	return &t, nil
}

// rollArgo reads the strategy on the Rollout itself, as Reloader does; any value but
// "restart" is the default, "rollout".
func rollArgo(ctx context.Context, c client.Client, obj, before client.Object, hashes string, now time.Time) error {
	u := obj.(*unstructured.Unstructured)
	var err error
	if obj.GetAnnotations()[ReloaderRolloutStrategy] == "restart" {
		err = unstructured.SetNestedField(u.Object, now.UTC().Format(time.RFC3339), "spec", "restartAt")
	} else {
		err = unstructured.SetNestedField(u.Object, hashes,
			"spec", "template", "metadata", "annotations", AnnotationSecretHashes)
	}
	if err != nil {
		return err
	}
	return c.Patch(ctx, obj, client.MergeFrom(before))
}

// setSecretHashes writes the secret-hashes annotation into an annotation map, made when nil.
func setSecretHashes(m *map[string]string, hashes string) {
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[AnnotationSecretHashes] = hashes
}

// parseHashes reads a secret-hashes annotation; a missing or malformed one is empty.
func parseHashes(v string) map[string]string {
	out := map[string]string{}
	if v != "" {
		_ = json.Unmarshal([]byte(v), &out)
	}
	return out
}

func formatHashes(m map[string]string) string {
	b, _ := json.Marshal(m) // map keys are sorted: the annotation is stable
	return string(b)
}

// find lists the objects of a kind in a namespace whose index holds value (a cache lookup).
func (k Kind) find(ctx context.Context, c client.Reader, namespace, index, value string) ([]client.Object, error) {
	list := k.NewList()
	// The objects are the cache's own, not copies: this runs for every Secret event (10,000
	// at a start), and the callers only read them.
	byValue := client.MatchingFields{index: value}
	if err := c.List(ctx, list, client.InNamespace(namespace), byValue, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		if o, ok := it.(client.Object); ok {
			out = append(out, o)
		}
	}
	return out, nil
}
