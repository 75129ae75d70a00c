package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	"github.com/vigil-dev/vigil/internal/stores"
	"github.com/vigil-dev/vigil/providers"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
)

// Operations an input is built for.
const (
	OpCreate    = "CREATE"
	OpUpdate    = "UPDATE"
	OpReconcile = "RECONCILE"
	OpAudit     = "AUDIT"
	OpLint      = "LINT"
)

// RolePolicies returns the IAM policies of a role (IAMReader, or fixed ones for `vigil lint`).
type RolePolicies interface {
	RolePolicies(ctx context.Context, roleARN string) ([]IAMPolicy, error)
}

// Builder gathers everything a policy may look at. It does all the I/O; nothing after it
// does any.
type Builder struct {
	// Client reads namespaces, ServiceAccounts and stores (the controller's cache).
	Client client.Reader
	// IAM reads role policies; nil reports IAM as unknown.
	IAM RolePolicies

	// Stores, when not nil, shares each store version's input among the inputs that name
	// it (StoreInputs): only where Client reads the API server or its cache.
	Stores *StoreInputs

	memo iamMemo // analyses of IAM policies, reused while the policies are the same
}

// ForStore builds the input for a SecretStore or ClusterSecretStore; a ClusterSecretStore's
// input has conditions[i]{opensToEveryNamespace, why, path} (see conditionFacts).
func (b *Builder) ForStore(ctx context.Context, store esv1.GenericStore, op string) (Input, error) {
	obj, err := toMap(store)
	if err != nil {
		return nil, err
	}
	in := newInput(store.GetKind(), op, obj)
	if in["namespace"], err = b.namespace(ctx, store.GetNamespace()); err != nil {
		return nil, err
	}
	if aws := store.GetSpec().Provider.AWS; aws != nil {
		in["aws"] = b.awsInput(ctx, store, aws, in["namespace"])
	}
	if store.GetKind() == esv1.ClusterSecretStoreKind {
		in["conditions"] = conditionFacts(store.GetSpec().Conditions)
	}
	return in, nil
}

// ForExternalSecret builds the input for an ExternalSecret, with its resolved store (nil
// when it cannot be resolved; the store's own rules are checked on the store) and every
// key it reads, with the store that entry reads through (addEntries).
func (b *Builder) ForExternalSecret(ctx context.Context, es *esv1.ExternalSecret, op string) (Input, error) {
	obj, err := toMap(es)
	if err != nil {
		return nil, err
	}
	in := newInput(esv1.ExternalSecretKind, op, obj)
	if in["namespace"], err = b.namespace(ctx, es.Namespace); err != nil {
		return nil, err
	}
	if store, err := stores.Get(ctx, b.Client, es.Spec.SecretStoreRef, es.Namespace); err == nil {
		if in["store"], err = b.Stores.mapOf(store); err != nil {
			return nil, err
		}
	}
	if err := b.addEntries(ctx, es, in); err != nil { // input.stores, input.entries: policy/paths.go
		return nil, err
	}
	return in, nil
}

// ForPushSecret builds the input for a PushSecret: every remote key it writes, once per
// store it is pushed to (resolved by name or labelSelector), as that store's backend names
// it (addPushEntries), plus pushed, the keys of dataTo entries in per-key mode that only the
// controller knows.
func (b *Builder) ForPushSecret(ctx context.Context, ps *esv1alpha1.PushSecret, op string,
	pushed ...PushedKey) (Input, error) {
	return b.forPushSecret(ctx, ps, op, pushTargets{}, pushed)
}

// forPushSecret is ForPushSecret with the keys judged as to says (policy/pushsecret.go).
func (b *Builder) forPushSecret(ctx context.Context, ps *esv1alpha1.PushSecret, op string, to pushTargets,
	pushed []PushedKey) (Input, error) {
	obj, err := toMap(ps)
	if err != nil {
		return nil, err
	}
	in := newInput(PushSecretKind, op, obj)
	if in["namespace"], err = b.namespace(ctx, ps.Namespace); err != nil {
		return nil, err
	}
	if err := b.addPushEntries(ctx, ps, in, to, pushed); err != nil { // input.stores, input.entries: policy/pushsecret.go
		return nil, err
	}
	return in, nil
}

// newInput is the part every input has: {kind, operation, object}.
func newInput(kind, op string, obj map[string]any) Input {
	return Input{"kind": kind, "operation": op, "object": obj}
}

func (b *Builder) namespace(ctx context.Context, name string) (map[string]any, error) {
	if name == "" {
		return map[string]any{}, nil
	}
	var ns corev1.Namespace
	// A namespace not there (yet) has no labels or annotations: its name is all there is.
	if err := b.Client.Get(ctx, types.NamespacedName{Name: name}, &ns); err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	return map[string]any{"name": name, "labels": toAny(ns.Labels), "annotations": toAny(ns.Annotations)}, nil
}

// awsInput resolves the role a store ends up with (spec.role, else the ServiceAccount's
// IRSA role), reads its IAM policies and analyses them (EvaluateIAM: the rules read
// iam.analysis.findings). Whatever cannot be known is said so, with why: iam.status is
// "known", "absent" (IAM says the role does not exist), "unknown" (with a reason), or "none"
// (no role: static keys or the controller's own identity, which other rules judge).
func (b *Builder) awsInput(ctx context.Context, store esv1.GenericStore, spec *esv1.AWSProvider,
	namespace any) map[string]any {
	out := map[string]any{}
	role := spec.Role
	if jwt := spec.Auth.JWTAuth; jwt != nil && jwt.ServiceAccountRef != nil {
		ns, err := providers.StoreNamespace(store, jwt.ServiceAccountRef.Namespace, "")
		if err == nil {
			var sa corev1.ServiceAccount
			if err := b.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: jwt.ServiceAccountRef.Name}, &sa); err == nil {
				out["serviceAccount"] = map[string]any{"name": sa.Name, "namespace": sa.Namespace,
					"annotations": toAny(sa.Annotations)}
				if role == "" {
					role = sa.Annotations[awsprovider.RoleARNAnnotation]
				}
			}
		}
	}
	switch {
	case role == "":
		out["iam"] = iamStatus("none", "no role: the credentials are static keys or the controller's own")
	case b.IAM == nil:
		out["roleArn"] = role
		out["iam"] = iamStatus("unknown", "IAM inspection is off")
	default:
		out["roleArn"] = role
		out["iam"] = b.iamInput(ctx, role, spec.Region, namespace)
	}
	return out
}

// iamInput reads and analyses a role's policies.
func (b *Builder) iamInput(ctx context.Context, role, region string, namespace any) map[string]any {
	policies, err := b.IAM.RolePolicies(ctx, role)
	if errors.Is(err, ErrNoSuchRole) {
		absent := iamStatus("absent", "IAM says the role does not exist, so it grants nothing")
		absent["policies"] = []any{}
		return absent
	}
	var unknown *IAMUnknownError
	switch {
	case errors.As(err, &unknown):
		return iamStatus("unknown", unknown.Reason)
	case err != nil:
		return iamStatus("unknown", "reading the role's policies failed")
	}
	return b.memo.known(policies, IAMSubject{RoleARN: role, Region: region, Prefixes: secretPrefixes(namespace)})
}

// iamStatus is input.aws.iam for a role whose policies are not known: its status and why.
func iamStatus(status, reason string) map[string]any {
	return map[string]any{"status": status, "reason": reason}
}

// KnownIAM is input.aws.iam for a role whose policies are known: the policies and the
// evaluator's analysis (or "unknown" when they are too complex to analyse).
func KnownIAM(policies []IAMPolicy, subj IAMSubject) map[string]any {
	var m iamMemo
	return m.known(policies, subj)
}

func (m *iamMemo) known(policies []IAMPolicy, subj IAMSubject) map[string]any {
	findings, err := m.evaluate(policies, subj)
	if err != nil {
		return iamStatus("unknown", err.Error())
	}
	list := make([]any, 0, len(policies))
	for _, p := range policies {
		list = append(list, map[string]any{"name": p.Name, "document": p.Document, "boundary": p.Boundary})
	}
	// The analysis goes in as plain JSON values, as every other part of the input.
	var analysis map[string]any
	data, _ := json.Marshal(map[string]any{"findings": findings})
	_ = json.Unmarshal(data, &analysis)
	if analysis["findings"] == nil {
		analysis["findings"] = []any{}
	}
	return map[string]any{"status": "known", "policies": list, "analysis": analysis}
}

// secretPrefixes: the namespace's allowed prefixes (annotation vigil.dev/secret-prefix,
// comma-separated), as the externalsecret-key-outside-prefix rule reads them.
func secretPrefixes(namespace any) []string {
	ns, _ := namespace.(map[string]any)
	ann, _ := ns["annotations"].(map[string]any)
	v, _ := ann[SecretPrefixAnnotation].(string)
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SecretPrefixAnnotation on a namespace lists the key prefixes its ExternalSecrets may read.
const SecretPrefixAnnotation = "vigil.dev/secret-prefix"

func toMap(obj runtime.Object) (map[string]any, error) {
	return runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
