// Package v1alpha1 holds Vigil's own policy API (vigil.dev/v1alpha1): ClusterSecretPolicy.
//
// +kubebuilder:object:generate=true
// +groupName=vigil.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of these types.
var GroupVersion = schema.GroupVersion{Group: "vigil.dev", Version: "v1alpha1"}

// AddToScheme adds the types of this package to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &ClusterSecretPolicy{}, &ClusterSecretPolicyList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
