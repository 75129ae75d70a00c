package manager

import "sigs.k8s.io/controller-runtime/pkg/cache"

// CacheOptions is what the controller's informer cache holds under o (which objects, and
// what of them): the e2e suite builds the same cache to show that it holds no Secret values.
func CacheOptions(o Options) cache.Options { return cacheOptions(o) }
