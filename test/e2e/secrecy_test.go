package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Every value a test stores remotely is remembered; after the suite, the controller's log
// (at the most verbose level), every event and every ExternalSecret condition is searched
// for them. Secrets must never leave the Secret they are synced into.
var (
	valuesMu sync.Mutex
	values   = map[string]bool{}
)

func rememberValue(v string) {
	valuesMu.Lock()
	defer valuesMu.Unlock()
	var fields map[string]any
	if json.Unmarshal([]byte(v), &fields) == nil {
		for _, f := range fields {
			if s, ok := f.(string); ok {
				remember(s)
			}
		}
		return
	}
	remember(v)
}

// remember keeps values distinctive enough to search for without false alarms.
func remember(s string) {
	if len(s) >= 5 && strings.ContainsAny(s, "0123456789-_.") {
		values[s] = true
	}
}

// checkNoValuesLeaked returns an error naming where a remembered value appeared (never the
// value itself).
func checkNoValuesLeaked(ctx context.Context, c client.Client, logPath string) error {
	valuesMu.Lock()
	defer valuesMu.Unlock()
	if len(values) == 0 {
		return fmt.Errorf("no remote values were remembered: the secrecy check would prove nothing")
	}
	var texts []struct{ where, text string }
	logData, err := os.ReadFile(logPath)
	if err != nil {
		return err
	}
	if len(logData) == 0 {
		return fmt.Errorf("the controller log %s is empty: the secrecy check would prove nothing", logPath)
	}
	texts = append(texts, struct{ where, text string }{"controller log", string(logData)})
	var events eventsv1.EventList
	if err := c.List(ctx, &events); err != nil {
		return err
	}
	for _, e := range events.Items {
		texts = append(texts, struct{ where, text string }{"event " + e.Namespace + "/" + e.Name, e.Note})
	}
	var ess esv1.ExternalSecretList
	if err := c.List(ctx, &ess); err != nil {
		return err
	}
	for _, es := range ess.Items {
		for _, cond := range es.Status.Conditions {
			texts = append(texts, struct{ where, text string }{"condition of " + es.Namespace + "/" + es.Name, cond.Message})
		}
	}
	var stores esv1.SecretStoreList
	if err := c.List(ctx, &stores); err != nil {
		return err
	}
	for _, st := range stores.Items {
		for _, cond := range st.Status.Conditions {
			texts = append(texts, struct{ where, text string }{"condition of SecretStore " + st.Namespace + "/" + st.Name, cond.Message})
		}
	}
	var cstores esv1.ClusterSecretStoreList
	if err := c.List(ctx, &cstores); err != nil {
		return err
	}
	for _, st := range cstores.Items {
		for _, cond := range st.Status.Conditions {
			texts = append(texts, struct{ where, text string }{"condition of ClusterSecretStore " + st.Name, cond.Message})
		}
	}
	// The metrics endpoint is public to whoever may scrape it: no label may hold a value.
	exposition, err := metricsText(metricsURL)
	if err != nil {
		return err
	}
	texts = append(texts, struct{ where, text string }{"/metrics", exposition})
	for _, t := range texts {
		for v := range values {
			if strings.Contains(t.text, v) {
				return fmt.Errorf("a remote secret value (%d characters) appears in the %s%s", len(v), t.where, leakSite(t.text, v))
			}
		}
	}
	fmt.Printf("secrecy check: %d remote values absent from %d bytes of controller log, %d events, the conditions of %d ExternalSecrets and %d stores, and %d bytes of /metrics\n", len(values), len(logData), len(events.Items), len(ess.Items), len(stores.Items)+len(cstores.Items), len(exposition))
	return nil
}

// leakSite names the log line a value appeared in (its logger, message and field names,
// with the value masked), so a failure says where to look without printing the value.
func leakSite(text, v string) string {
	for _, line := range strings.Split(text, "\n") {
		if !strings.Contains(line, v) {
			continue
		}
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			return ""
		}
		var fields []string
		for k, f := range entry {
			if strings.Contains(fmt.Sprint(f), v) {
				fields = append(fields, k)
			}
		}
		msg := strings.ReplaceAll(fmt.Sprint(entry["msg"]), v, "[value]")
		return fmt.Sprintf(" (logger %v, message %q, in fields %v)", entry["logger"], msg, fields)
	}
	return ""
}

// metricsText returns the controller's /metrics exposition as text.
func metricsText(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
