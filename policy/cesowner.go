package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// garbageCollectors are the names the garbage collector deletes dependents under: its own
// service account, or the controller manager's identity without per-controller credentials.
var garbageCollectors = map[string]bool{
	"system:serviceaccount:kube-system:generic-garbage-collector": true,
	"system:kube-controller-manager":                              true,
}

// cesControllerRef returns the ExternalSecret's controller reference when it names a
// ClusterExternalSecret of external-secrets.io; nil otherwise.
func cesControllerRef(meta *metav1.ObjectMeta) *metav1.OwnerReference {
	ref := metav1.GetControllerOfNoCopy(meta)
	if ref == nil || ref.Kind != clusterExternalSecretKind {
		return nil
	}
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != esv1.GroupVersion.Group {
		return nil
	}
	return ref
}

// cesAdmitsDelete reports whether a ClusterExternalSecret really decides the deletion of
// this ExternalSecret: the one its controller reference names exists with that UID and
// this is its child (its name); or the owner is gone and the garbage collector deletes
// the dependent. Anyone may write an owner reference, so the reference alone proves
// nothing.
func (v *Validator) cesAdmitsDelete(ctx context.Context, meta *metav1.ObjectMeta, user string) (bool, error) {
	ref := cesControllerRef(meta)
	if ref == nil {
		return false, nil
	}
	ces := &esv1.ClusterExternalSecret{}
	err := v.Builder.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, ces)
	if apierrors.IsNotFound(err) {
		return garbageCollectors[user], nil
	}
	if err != nil {
		return false, fmt.Errorf("reading ClusterExternalSecret %s: %w", ref.Name, err)
	}
	if ces.UID != ref.UID {
		return garbageCollectors[user], nil
	}
	child := ces.Spec.ExternalSecretName
	if child == "" {
		child = ces.Name
	}
	return meta.Name == child, nil
}

// admitCESOwner refuses an ExternalSecret that gains a ClusterExternalSecret controller
// reference naming no existing ClusterExternalSecret with that UID: such a reference would
// let the garbage collector delete a protected ExternalSecret. nil admits.
func (v *Validator) admitCESOwner(ctx context.Context, req admission.Request) *admission.Response {
	if req.Kind.Group != esv1.GroupVersion.Group || req.Kind.Kind != esv1.ExternalSecretKind {
		return nil
	}
	var obj, old struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		r := admission.Errored(http.StatusBadRequest, err)
		return &r
	}
	ref := cesControllerRef(&obj.Metadata)
	if ref == nil {
		return nil
	}
	if len(req.OldObject.Raw) > 0 && json.Unmarshal(req.OldObject.Raw, &old) == nil {
		if was := cesControllerRef(&old.Metadata); was != nil && was.UID == ref.UID && was.Name == ref.Name {
			return nil // unchanged: it was checked when it was set
		}
	}
	ces := &esv1.ClusterExternalSecret{}
	err := v.Builder.Client.Get(ctx, types.NamespacedName{Name: ref.Name}, ces)
	if err != nil && !apierrors.IsNotFound(err) {
		r := admission.Errored(http.StatusInternalServerError,
			fmt.Errorf("reading ClusterExternalSecret %s: %w", ref.Name, err))
		return &r
	}
	if err != nil || ces.UID != ref.UID {
		r := admission.Denied(fmt.Sprintf("metadata.ownerReferences names ClusterExternalSecret %s with uid %s, "+
			"which does not exist: only a ClusterExternalSecret controls its ExternalSecrets; remove the reference",
			ref.Name, ref.UID))
		return &r
	}
	return nil
}
