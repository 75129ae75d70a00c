// Package secrethash hashes a Secret's type and data. The ExternalSecret reconciler stores
// the hash in the data-hash annotation (to skip writes that change nothing) and the rollout
// controller records it in pod templates (to roll only on real data changes); both must
// agree on it.
package secrethash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Of returns a hash of a Secret's type and data. Key and value boundaries are part of it, so
// different data never hash alike by concatenation.
func Of(typ corev1.SecretType, data map[string][]byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s", len(typ), typ)
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(data[k]))
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
