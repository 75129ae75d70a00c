// Package v1alpha1 holds ESO's PushSecret and ClusterPushSecret API
// (external-secrets.io/v1alpha1). Vigil serves the kinds so that ESO manifests apply; pushing
// is not implemented yet: the admission webhook warns on create and docs/providers.md says so.
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of these types.
var GroupVersion = schema.GroupVersion{Group: "external-secrets.io", Version: "v1alpha1"}

// AddToScheme adds the types of this package to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&PushSecret{}, &PushSecretList{},
		&ClusterPushSecret{}, &ClusterPushSecretList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
