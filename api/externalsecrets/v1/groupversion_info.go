// Package v1 holds the External Secrets Operator API (external-secrets.io/v1) as Vigil serves
// it. Field names, defaults, enums and printer columns follow ESO's v1 so that existing
// manifests, dashboards and alerts work unchanged. v1 is the storage version.
//
// The sibling package v1beta1 is generated from this one (hack/gen-v1beta1): ESO's v1beta1
// schema is the same for every field Vigil serves, so one source keeps the two from drifting.
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of these types.
var GroupVersion = schema.GroupVersion{Group: "external-secrets.io", Version: "v1"}

// AddToScheme adds the types of this package to a scheme. It is called explicitly from
// cmd/ and the tests rather than from init(), so that what a binary serves is visible.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&ExternalSecret{}, &ExternalSecretList{},
		&SecretStore{}, &SecretStoreList{},
		&ClusterSecretStore{}, &ClusterSecretStoreList{},
		&ClusterExternalSecret{}, &ClusterExternalSecretList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
