package manager

import (
	"os"
	"testing"

	clientfeatures "k8s.io/client-go/features"
)

// --streaming-lists decides client-go's WatchListClient for the process (default off: a
// LIST), and leaves the other gates alone; client-go's own environment variable, when set,
// wins.
func TestSetStreamingLists(t *testing.T) {
	before := clientfeatures.FeatureGates()
	t.Cleanup(func() { clientfeatures.ReplaceFeatureGates(before) })
	t.Setenv(WatchListEnv, "") // restored after the test
	if err := os.Unsetenv(WatchListEnv); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{false, true} {
		clientfeatures.ReplaceFeatureGates(before)
		SetStreamingLists(on)
		gates := clientfeatures.FeatureGates()
		if got := gates.Enabled(clientfeatures.WatchListClient); got != on {
			t.Errorf("--streaming-lists=%v: WatchListClient %v", on, got)
		}
		if gates.Enabled(clientfeatures.InformerResourceVersion) != before.Enabled(clientfeatures.InformerResourceVersion) {
			t.Error("another gate changed with it")
		}
	}
	for env, flagDecides := range map[string]bool{"true": false, "false": false, "": true, "yes please": true} {
		clientfeatures.ReplaceFeatureGates(before)
		t.Setenv(WatchListEnv, env)
		SetStreamingLists(false)
		if _, replaced := clientfeatures.FeatureGates().(watchListGate); replaced != flagDecides {
			t.Errorf("%s=%q: the flag decided %v, want %v", WatchListEnv, env, replaced, flagDecides)
		}
	}
}
