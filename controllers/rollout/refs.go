package rollout

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-dev/vigil/controllers/internal/secrethash"
)

// references are the Secrets and ConfigMaps a pod template reads.
type references struct{ Secrets, ConfigMaps []string }

// referencesOf lists what a pod template reads: env valueFrom, envFrom, volumes and
// projected volumes, in every container and init container (Reloader looks at the same
// places).
func referencesOf(spec *corev1.PodSpec) references {
	secrets, configMaps := map[string]bool{}, map[string]bool{}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					secrets[e.ValueFrom.SecretKeyRef.Name] = true
				}
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					configMaps[e.ValueFrom.ConfigMapKeyRef.Name] = true
				}
			}
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					secrets[e.SecretRef.Name] = true
				}
				if e.ConfigMapRef != nil {
					configMaps[e.ConfigMapRef.Name] = true
				}
			}
		}
	}
	for _, v := range spec.Volumes {
		volumeReferences(v, secrets, configMaps)
	}
	return references{Secrets: sortedNames(secrets), ConfigMaps: sortedNames(configMaps)}
}

func volumeReferences(v corev1.Volume, secrets, configMaps map[string]bool) {
	if v.Secret != nil {
		secrets[v.Secret.SecretName] = true
	}
	if v.ConfigMap != nil {
		configMaps[v.ConfigMap.Name] = true
	}
	if v.Projected == nil {
		return
	}
	for _, src := range v.Projected.Sources {
		if src.Secret != nil {
			secrets[src.Secret.Name] = true
		}
		if src.ConfigMap != nil {
			configMaps[src.ConfigMap.Name] = true
		}
	}
}

func sortedNames(set map[string]bool) []string {
	delete(set, "")
	return slices.Sorted(maps.Keys(set))
}

// configMapHash hashes a ConfigMap's data and binaryData (their keys never overlap: the API
// server refuses it) the way secrethash hashes a Secret's.
func configMapHash(cm *corev1.ConfigMap) string {
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	maps.Copy(data, cm.BinaryData)
	return secrethash.Of(KindConfigMap, data)
}
