// Package v1alpha1 holds ESO's generator API (generators.external-secrets.io/v1alpha1):
// Password, ECRAuthorizationToken and VaultDynamicSecret, and ESO's other generator kinds
// served but not implemented (other_types.go). An ExternalSecret uses one through
// spec.dataFrom[].sourceRef.generatorRef; each sync generates new values.
//
// +kubebuilder:object:generate=true
// +groupName=generators.external-secrets.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of these types.
var GroupVersion = schema.GroupVersion{Group: "generators.external-secrets.io", Version: "v1alpha1"}

// AddToScheme adds the types of this package to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Password{}, &PasswordList{},
		&ECRAuthorizationToken{}, &ECRAuthorizationTokenList{},
		&VaultDynamicSecret{}, &VaultDynamicSecretList{},
		&ClusterGenerator{}, &ClusterGeneratorList{},
	)
	s.AddKnownTypes(GroupVersion, otherKinds()...)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
