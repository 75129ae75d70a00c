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
// Secret's metadata and drops its data, recording the hash of its type and values: the
// controllers decide "unchanged" and "rolled" from hashes, so values never sit in the cache
// (neither in memory nor in a heap dump), and a cached Secret costs its metadata only. Its
// keys go too: nothing reads them from the cache, and a map of keys was 4.5 MB of the live
// heap at 10,000 managed Secrets (docs/performance.md, Memory). Other objects pass
// unchanged. It is idempotent: a Secret it stripped already is left as it is.
func StripValues(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok || stripped(s) {
		return obj, nil
	}
	h := Of(s.Type, s.Data)
	s.Data = strippedData
	s.StringData = nil
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[cachedAnnotation] = h
	return s, nil
}

// strippedData is the data of every Secret StripValues stripped, one map they all share:
// its only key, the empty string, is one the API server refuses in a Secret, so a Secret
// read from the API server never looks stripped, and a stripped copy written back by
// mistake is refused instead of blanking the Secret's values. Nothing may write into it
// (cached objects are read-only; DeepCopy gives a copy its own map).
var strippedData = map[string][]byte{"": nil}

// stripped reports whether StripValues already ran on s: its data is the mark and its hash
// is recorded.
func stripped(s *corev1.Secret) bool {
	if _, ok := s.Annotations[cachedAnnotation]; !ok || len(s.Data) != 1 {
		return false
	}
	v, ok := s.Data[""]
	return ok && v == nil
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
