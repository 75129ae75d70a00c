package harness

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

const exposition = `# TYPE vigil_externalsecret_ready gauge
vigil_externalsecret_ready{name="db",namespace="a",reason="SecretSynced"} 1
vigil_externalsecret_ready{name="db2",namespace="a",reason="SecretSynced"} 1
# TYPE store_calls_total counter
store_calls_total{store_name="db",namespace="a"} 7
store_calls_total{name="db",namespace="a"} 2
store_calls_total{name="db",namespace="b"} 3
`

func TestFamiliesValue_MatchesLabelsExactly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, exposition) }))
	defer srv.Close()
	f, err := ScrapeMetrics(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
		found  bool
	}{
		{"store_calls_total", map[string]string{"name": "db", "namespace": "a"}, 2, true}, // not store_name="db"
		{"store_calls_total", map[string]string{"name": "db"}, 5, true},                   // sum over namespaces
		{"store_calls_total", map[string]string{"name": "d"}, 0, false},                   // no prefix match
		{"vigil_externalsecret_ready", map[string]string{"name": "db"}, 1, true},          // not db2
		{"vigil_externalsecret_ready", map[string]string{"name": "db", "reason": "Other"}, 0, false},
		{"missing_total", nil, 0, false},
	} {
		got, found := f.Value(tc.name, tc.labels)
		if got != tc.want || found != tc.found {
			t.Errorf("%s%v = %v (found %v), want %v (found %v)", tc.name, tc.labels, got, found, tc.want, tc.found)
		}
	}
	if s := f.Series("store_calls_total", map[string]string{"namespace": "a"}); len(s) != 2 {
		t.Errorf("Series matched %d series in namespace a, want 2: %v", len(s), s)
	}
}
