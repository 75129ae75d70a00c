package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	esv1alpha1 "github.com/vigil-dev/vigil/api/externalsecrets/v1alpha1"
	policyv1alpha1 "github.com/vigil-dev/vigil/api/policy/v1alpha1"
)

// Validator is the validating admission webhook: stores, generators, ExternalSecrets and
// PushSecrets that violate a Deny rule are rejected with the rule and its remediation, Warn
// rules come back as admission warnings, and a ClusterSecretPolicy whose Rego or CEL does not
// compile is rejected with the compiler's message. It reads the same policy set as the reconcile gate.
type Validator struct {
	Builder  *Builder
	Policies *Holder
}

// Handle implements admission.Handler.
func (v *Validator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation == admissionv1.Delete {
		return v.admitDelete(ctx, req)
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	if req.Kind.Kind == "ClusterSecretPolicy" {
		var p policyv1alpha1.ClusterSecretPolicy
		if err := json.Unmarshal(req.Object.Raw, &p); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if err := CheckPolicy(ctx, p); err != nil {
			return admission.Denied(err.Error())
		}
		return admission.Allowed("")
	}
	if r := v.admitCESOwner(ctx, req); r != nil {
		return *r
	}
	if pushSecretBeingDeleted(req) {
		// A PushSecret being deleted pushes nothing more; what its finalizer still deletes is
		// judged by the push controller's gate (policycheck.PushSecretDeletes). Refusing the
		// update would keep it forever once it breaks a rule: neither the controller's removal
		// of the finalizer nor the user's deletionPolicy None would get through.
		return admission.Allowed("")
	}
	compat := compatWarnings(req.Kind.Kind, req.Object.Raw)
	in, code, err := v.input(ctx, req)
	if err != nil {
		return admission.Errored(code, err)
	}
	if in == nil {
		return admission.Allowed("").WithWarnings(compat...)
	}
	if len(req.OldObject.Raw) > 0 {
		var old map[string]any
		if json.Unmarshal(req.OldObject.Raw, &old) == nil {
			in["oldObject"] = old
		}
	}
	set, err := v.Policies.Load(ctx, v.Builder.Client)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	vs, err := set.Evaluate(ctx, in)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if d := Denied(vs); len(d) > 0 {
		return admission.Denied("denied by Vigil policy: " + Summary(d))
	}
	warnings := compat
	for _, x := range vs {
		if x.Action == Warn {
			warnings = append(warnings, fmt.Sprintf("Vigil policy %s", x))
		}
	}
	return admission.Allowed("").WithWarnings(warnings...)
}

// pushSecretBeingDeleted reports an update of a PushSecret that has a deletionTimestamp.
func pushSecretBeingDeleted(req admission.Request) bool {
	if req.Operation != admissionv1.Update || req.Kind.Group != esv1alpha1.GroupVersion.Group ||
		req.Kind.Kind != PushSecretKind {
		return false
	}
	var obj struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	return json.Unmarshal(req.Object.Raw, &obj) == nil && obj.Metadata.DeletionTimestamp != nil
}

// input builds the policy input of the object under review; nil for a kind that policies
// do not look at. A failure comes with its HTTP status: 400 for an object that does not
// decode, 500 for a lookup that failed.
func (v *Validator) input(ctx context.Context, req admission.Request) (Input, int32, error) {
	var in Input
	var err error
	if IsGenerator(req.Kind.Group, req.Kind.Kind) {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(req.Object.Raw, &u.Object); err != nil {
			return nil, http.StatusBadRequest, err
		}
		in, err = v.Builder.ForGenerator(ctx, u, string(req.Operation))
		return in, http.StatusInternalServerError, err
	}
	obj, err := decodeESObject(req.Object.Raw)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	switch o := obj.(type) {
	case *esv1.SecretStore:
		in, err = v.Builder.ForStore(ctx, o, string(req.Operation))
	case *esv1.ClusterSecretStore:
		in, err = v.Builder.ForStore(ctx, o, string(req.Operation))
	case *esv1.ExternalSecret:
		in, err = v.Builder.ForExternalSecret(ctx, o, string(req.Operation))
	case *esv1alpha1.PushSecret:
		in, err = v.Builder.ForPushSecret(ctx, o, string(req.Operation))
	}
	return in, http.StatusInternalServerError, err
}

// decodeESObject decodes an external-secrets.io object of any served version as v1 (the
// schemas are the same); a PushSecret as v1alpha1, its one version.
func decodeESObject(raw []byte) (runtime.Object, error) {
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(raw, &u.Object); err != nil {
		return nil, err
	}
	var obj runtime.Object
	gv := esv1.GroupVersion
	switch u.GetKind() {
	case esv1.SecretStoreKind:
		obj = &esv1.SecretStore{}
	case esv1.ClusterSecretStoreKind:
		obj = &esv1.ClusterSecretStore{}
	case esv1.ExternalSecretKind:
		obj = &esv1.ExternalSecret{}
	case PushSecretKind:
		obj, gv = &esv1alpha1.PushSecret{}, esv1alpha1.GroupVersion
	default:
		return nil, nil
	}
	u.SetAPIVersion(gv.String())
	return obj, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj)
}
