package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/policy"
)

// finding is one line of lint output.
type finding struct {
	Rule      string `json:"rule"`
	Action    string `json:"action"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	File      string `json:"file"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	// Path is the field the finding is about, as the rule names it.
	Path string `json:"path,omitempty"`
	// Rendered: the line and column count in helm template's output of File.
	Rendered bool   `json:"rendered,omitempty"`
	Message  string `json:"message"`
}

// lintDocuments evaluates every store, ExternalSecret and generator. The other documents
// (namespaces, ServiceAccounts) are what the policies look up, as the cluster would hold
// them; an in-memory client stands in for the cluster: lint runs offline.
func lintDocuments(ctx context.Context, docs []document, set *policy.Set, iam policy.StaticIAM) ([]finding, error) {
	scheme, err := manager.NewScheme()
	if err != nil {
		return nil, err
	}
	typed, err := typedObjects(scheme, docs)
	if err != nil {
		return nil, err
	}
	var objs []client.Object
	for _, o := range typed {
		if o != nil {
			objs = append(objs, o)
		}
	}
	cluster := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	b := &policy.Builder{Client: cluster, IAM: iam}
	var out []finding
	for i, obj := range typed {
		in, ok, err := policyInput(ctx, b, obj, docs[i])
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		vs, err := set.Evaluate(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			out = append(out, newFinding(docs[i], obj, v))
		}
	}
	return out, nil
}

// typedObjects converts each document of a kind the scheme knows into its type, as the
// cluster would default it (namespace "default"; v1beta1 read as v1, the same schema);
// other kinds are nil. The cluster holds one object per kind, namespace and name: a second
// document for the same object is an error that names both places.
func typedObjects(scheme *runtime.Scheme, docs []document) ([]client.Object, error) {
	typed := make([]client.Object, len(docs))
	first := map[string]document{}
	for i, d := range docs {
		u := d.obj.DeepCopy()
		if u.GetNamespace() == "" && namespaced(u.GetKind()) {
			u.SetNamespace("default")
		}
		if u.GroupVersionKind().Group == esv1.GroupVersion.Group && !slices.Contains(pushKinds, u.GetKind()) {
			u.SetAPIVersion(esv1.GroupVersion.String())
		}
		obj, err := scheme.New(u.GroupVersionKind())
		if err != nil {
			continue // a kind the policies do not look at
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", d.where(), u.GetKind(), u.GetName(), err)
		}
		co := obj.(client.Object)
		key := client.ObjectKeyFromObject(co).String()
		id := u.GroupVersionKind().GroupKind().String() + " " + key
		if f, ok := first[id]; ok {
			return nil, fmt.Errorf("%s: %s %s is defined again (first at %s); each object may appear once",
				d.where(), u.GetKind(), strings.TrimPrefix(key, "/"), f.where())
		}
		first[id] = d
		typed[i] = co
	}
	return typed, nil
}

// policyInput builds what the policies see of one object; ok is false for kinds no policy
// judges.
func policyInput(ctx context.Context, b *policy.Builder, obj client.Object, d document) (policy.Input, bool, error) {
	var in policy.Input
	var err error
	switch o := obj.(type) {
	case *esv1.SecretStore:
		in, err = b.ForStore(ctx, o, policy.OpLint)
	case *esv1.ClusterSecretStore:
		in, err = b.ForStore(ctx, o, policy.OpLint)
	case *esv1.ExternalSecret:
		in, err = b.ForExternalSecret(ctx, o, policy.OpLint)
	case *esv1alpha1.PushSecret:
		in, err = b.ForPushSecret(ctx, o, policy.OpLint)
	default:
		u := d.obj
		if obj == nil || !policy.IsGenerator(u.GroupVersionKind().Group, u.GetKind()) {
			return in, false, nil
		}
		u = u.DeepCopy()
		u.SetNamespace(obj.GetNamespace()) // defaulted as the cluster would
		in, err = b.ForGenerator(ctx, u, policy.OpLint)
	}
	return in, err == nil, err
}

// newFinding places a violation at the field its path names.
func newFinding(d document, obj client.Object, v policy.Violation) finding {
	line, col := d.position(v.Path)
	return finding{
		Rule: v.Rule, Action: string(v.Action), Kind: d.obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(),
		File: d.file, Line: line, Column: col, Path: v.Path, Rendered: d.rendered, Message: v.Message,
	}
}

// pushKinds are served in v1alpha1 only: they keep their version.
var pushKinds = []string{"PushSecret", "ClusterPushSecret"}

func namespaced(kind string) bool {
	clusterScoped := []string{"Namespace", "ClusterSecretStore", "ClusterExternalSecret", "ClusterSecretPolicy",
		"ClusterPushSecret"}
	return !slices.Contains(clusterScoped, kind)
}
