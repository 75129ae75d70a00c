package manager

import (
	"os"
	"strconv"

	clientfeatures "k8s.io/client-go/features"
)

// WatchListEnv is client-go's own switch for streaming lists; set to true or false, it wins
// over --streaming-lists.
const WatchListEnv = "KUBE_FEATURE_WatchListClient"

// SetStreamingLists turns client-go's streaming lists (the WatchListClient feature, on by
// default since client-go 1.35) on or off for the whole process, before any informer starts.
// With them an informer's first sync ends at the API server's next bookmark, which its watch
// cache sends on a timer of about a second: each restart of the controller waited that long
// before its first sync (1.3 s of a cold start of 1,000 ExternalSecrets that took 4.7 s;
// docs/performance.md, Start). A LIST answered from the watch cache ends when its response
// does. Streaming lists spare the API server one large response for a very large collection;
// the controller lists only its ExternalSecrets, stores, policies and managed Secrets. It is
// --streaming-lists of `vigil controller`; the tests' in-process controller sets the default.
func SetStreamingLists(on bool) {
	// client-go ignores a value it cannot parse and keeps its default (on): such a value
	// does not decide.
	if _, err := strconv.ParseBool(os.Getenv(WatchListEnv)); err == nil {
		return
	}
	gates := clientfeatures.FeatureGates()
	if set, ok := gates.(watchListGate); ok { // set before: replace, do not wrap again
		gates = set.Gates
	}
	clientfeatures.ReplaceFeatureGates(watchListGate{Gates: gates, on: on})
}

// watchListGate is client-go's feature gates with WatchListClient set to on.
type watchListGate struct {
	clientfeatures.Gates
	on bool
}

func (g watchListGate) Enabled(f clientfeatures.Feature) bool {
	if f == clientfeatures.WatchListClient {
		return g.on
	}
	return g.Gates.Enabled(f)
}
