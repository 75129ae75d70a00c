package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

// Deletion protection: an ExternalSecret's Owner Secret goes with it, so deleting one by
// mistake takes a running application's credentials away. A protected ExternalSecret is
// refused deletion at admission, and if it goes anyway (webhook down, or bypassed) the
// controller's finalizer keeps its Secret, orphaned and labelled.
const (
	// AnnotationDeletionProtection on an ExternalSecret or a namespace: "true" protects,
	// "false" opts out of a ClusterSecretPolicy's default where that policy allows it.
	AnnotationDeletionProtection = "vigil.dev/deletion-protection"
	// FinalizerDeletionProtection is on an ExternalSecret while protection applies.
	FinalizerDeletionProtection = "vigil.dev/deletion-protection"
	// LabelOrphanedByProtection marks a Secret whose ExternalSecret was deleted while
	// protected: Vigil removed the owner reference so that it stays.
	LabelOrphanedByProtection = "vigil.dev/orphaned-by-deletion-protection"
)

// clusterExternalSecretKind is the kind whose ExternalSecrets it decides the lifecycle of.
const clusterExternalSecretKind = "ClusterExternalSecret"

// protectionPolicy is one ClusterSecretPolicy's deletion-protection default.
type protectionPolicy struct {
	name   string
	match  policyv1alpha1.PolicyMatch
	optOut policyv1alpha1.DeletionProtectionOptOut
}

// addProtection records a policy's deletion-protection default, if it sets one.
func (s *Set) addProtection(p policyv1alpha1.ClusterSecretPolicy) {
	d := p.Spec.DeletionProtection
	if d == nil || !d.Enabled {
		return
	}
	optOut := d.AllowOptOut
	if optOut == "" {
		optOut = policyv1alpha1.OptOutNone
	}
	s.protections = append(s.protections, protectionPolicy{name: p.Name, match: p.Spec.Match, optOut: optOut})
}

// Protection says what protects an ExternalSecret from deletion; the zero value protects
// nothing.
type Protection struct {
	// ExternalSecret: its own annotation is "true".
	ExternalSecret bool
	// Namespace: its namespace's annotation is "true".
	Namespace bool
	// Policies whose default holds for it, each with the opt-out it allows.
	Policies []PolicyProtection
}

// PolicyProtection is a ClusterSecretPolicy that protects an ExternalSecret by default.
type PolicyProtection struct {
	Name   string
	OptOut policyv1alpha1.DeletionProtectionOptOut
}

// Protected reports whether anything protects the ExternalSecret.
func (p Protection) Protected() bool { return p.ExternalSecret || p.Namespace || len(p.Policies) > 0 }

// annotated reads the protection annotation: set says whether it is there with a value
// strconv.ParseBool reads ("true", "false", …); anything else counts as not set.
func annotated(annotations map[string]string) (on, set bool) {
	v, ok := annotations[AnnotationDeletionProtection]
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(v)
	return b, err == nil
}

// DeletionProtection decides whether an ExternalSecret (its metadata) in a namespace is
// protected. An annotation "true" on either protects, and nothing a tenant writes lifts
// that of the namespace. A policy's default holds unless its allowOptOut names the place
// where "false" was written: Namespace (the namespace's annotation) or ExternalSecret (the
// namespace's or the ExternalSecret's own). A nil Set has no policies.
func (s *Set) DeletionProtection(es metav1.Object, ns *corev1.Namespace) Protection {
	var p Protection
	esOn, esSet := annotated(es.GetAnnotations())
	nsOn, nsSet := annotated(ns.Annotations)
	p.ExternalSecret, p.Namespace = esOn, nsOn
	if s == nil {
		return p
	}
	for _, pp := range s.protections {
		if !selectsExternalSecretsIn(pp.match, ns) {
			continue
		}
		nsOptOut := nsSet && !nsOn && pp.optOut != policyv1alpha1.OptOutNone
		esOptOut := esSet && !esOn && pp.optOut == policyv1alpha1.OptOutExternalSecret
		if nsOptOut || esOptOut {
			continue
		}
		p.Policies = append(p.Policies, PolicyProtection{Name: pp.name, OptOut: pp.optOut})
	}
	return p
}

// selectsExternalSecretsIn reads a policy's match as the custom rules do (set.go's
// matches): kinds, when given, must name ExternalSecret; the namespace must not be
// excluded and must match the selector, if any. A selector that does not parse selects
// nothing.
func selectsExternalSecretsIn(m policyv1alpha1.PolicyMatch, ns *corev1.Namespace) bool {
	if len(m.Kinds) > 0 && !slices.Contains(m.Kinds, esv1.ExternalSecretKind) {
		return false
	}
	if slices.Contains(m.ExcludedNamespaces, ns.Name) {
		return false
	}
	if m.NamespaceSelector == nil {
		return true
	}
	sel, err := metav1.LabelSelectorAsSelector(m.NamespaceSelector)
	return err == nil && sel.Matches(labels.Set(ns.Labels))
}

// Refusal is the admission message for deleting a protected ExternalSecret: what protects
// it, and for each, the command that lifts it (or who may).
func (p Protection) Refusal(name, namespace string) string {
	var why []string
	if p.ExternalSecret {
		why = append(why, fmt.Sprintf("it carries %s: \"true\" (lift it: kubectl annotate externalsecret %s -n %s %s-)",
			AnnotationDeletionProtection, name, namespace, AnnotationDeletionProtection))
	}
	if p.Namespace {
		why = append(why, fmt.Sprintf("namespace %s carries %s: \"true\" (lift it: kubectl annotate namespace %s %s-)",
			namespace, AnnotationDeletionProtection, namespace, AnnotationDeletionProtection))
	}
	for _, pp := range p.Policies {
		why = append(why, fmt.Sprintf("ClusterSecretPolicy %s protects this namespace by default (%s)",
			pp.Name, pp.liftedBy(name, namespace)))
	}
	return fmt.Sprintf("ExternalSecret %s/%s is protected from deletion, which would also delete the Secret it owns: %s",
		namespace, name, strings.Join(why, "; "))
}

// liftedBy says how a policy's default is lifted, as its allowOptOut permits.
func (pp PolicyProtection) liftedBy(name, namespace string) string {
	switch pp.OptOut {
	case policyv1alpha1.OptOutExternalSecret:
		return fmt.Sprintf("lift it: kubectl annotate externalsecret %s -n %s %s=false --overwrite",
			name, namespace, AnnotationDeletionProtection)
	case policyv1alpha1.OptOutNamespace:
		return fmt.Sprintf("lift it: kubectl annotate namespace %s %s=false --overwrite",
			namespace, AnnotationDeletionProtection)
	}
	return fmt.Sprintf("only the policy's owner lifts it: spec.deletionProtection, or %s in spec.match.excludedNamespaces",
		namespace)
}

// admitDelete judges the deletion of an ExternalSecret: refused while it is protected,
// except when its namespace is being deleted (that stays destructive) or a
// ClusterExternalSecret really controls it (see cesAdmitsDelete: its owner, a cluster
// admin's object, decides its lifecycle; the controller's finalizer still keeps the Secret). Other kinds pass.
func (v *Validator) admitDelete(ctx context.Context, req admission.Request) admission.Response {
	if req.Kind.Group != esv1.GroupVersion.Group || req.Kind.Kind != esv1.ExternalSecretKind {
		return admission.Allowed("")
	}
	var old struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	byCES, cerr := v.cesAdmitsDelete(ctx, &old.Metadata, req.UserInfo.Username)
	if cerr != nil {
		return admission.Errored(http.StatusInternalServerError, cerr)
	}
	if byCES {
		return admission.Allowed("")
	}
	ns := &corev1.Namespace{}
	err := v.Builder.Client.Get(ctx, types.NamespacedName{Name: req.Namespace}, ns)
	if apierrors.IsNotFound(err) || (err == nil && !ns.DeletionTimestamp.IsZero()) {
		return admission.Allowed("")
	}
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("reading namespace %s: %w", req.Namespace, err))
	}
	set, err := v.Policies.Load(ctx, v.Builder.Client)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if p := set.DeletionProtection(&old.Metadata, ns); p.Protected() {
		return admission.Denied(p.Refusal(req.Name, req.Namespace))
	}
	return admission.Allowed("")
}
