package secrethash

import (
	corev1 "k8s.io/api/core/v1"
)

// cachedAnnotation holds, on a Secret in the informer cache, the hash of the values that
// StripValues removed. It exists only in this process's memory: Writable removes it from
// every Secret that is written back, and StripValues recomputes it from the API server's
// data, so a value set on the API server is never trusted.
const cachedAnnotation = "cache.vigil.dev/data-hash"

// StripValues is a cache transform (controller-runtime cache.TransformFunc) that keeps a
// Secret's keys and metadata and drops its values, recording their hash: the controllers
// decide "unchanged" and "rolled" from hashes, so values never sit in the cache (neither
// in memory nor in a heap dump), and a cached Secret costs its metadata only. Other
// objects pass unchanged. It is idempotent: a Secret it stripped already (values nil, hash
// recorded) is left as it is.
func StripValues(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok || stripped(s) {
		return obj, nil
	}
	h := Of(s.Type, s.Data)
	for k := range s.Data {
		s.Data[k] = nil
	}
	s.StringData = nil
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[cachedAnnotation] = h
	return s, nil
}

// stripped reports whether StripValues already ran on s: its hash is recorded and no value
// is left. The API server never returns a nil value (an empty value decodes as an empty
// slice), so an annotation set on the API server is not mistaken for this mark.
func stripped(s *corev1.Secret) bool {
	if _, ok := s.Annotations[cachedAnnotation]; !ok || len(s.Data) == 0 {
		return false
	}
	for _, v := range s.Data {
		if v != nil {
			return false
		}
	}
	return true
}

// OfSecret returns the hash of a Secret's type and data: the one StripValues recorded for
// a cached Secret, or else computed from its data (a Secret read from the API server).
func OfSecret(s *corev1.Secret) string {
	if stripped(s) {
		return s.Annotations[cachedAnnotation]
	}
	return Of(s.Type, s.Data)
}

// HasValues reports whether s carries its values, that is, it was not read from the
// stripped cache: code that copies a Secret's values must read it from the API server.
func HasValues(s *corev1.Secret) bool { return !stripped(s) }

// Writable removes the cache's mark from s (a copy of a cached Secret about to be written
// to the API server), so that it never reaches the API server.
func Writable(s *corev1.Secret) {
	delete(s.Annotations, cachedAnnotation)
	if len(s.Annotations) == 0 {
		s.Annotations = nil
	}
}
