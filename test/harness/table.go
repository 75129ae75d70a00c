package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/rest"
)

// GetTable asks the API server for the Table `kubectl get` prints (server-side printing).
func GetTable(ctx context.Context, cfg *rest.Config, path string) (*metav1.Table, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(cfg.Host, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	var table metav1.Table
	return &table, json.Unmarshal(body, &table)
}

// FormatCell renders a table cell as kubectl does: dates as ages.
func FormatCell(v any, format, typ string) string {
	if v == nil {
		return "<none>"
	}
	if s, ok := v.(string); ok && (typ == "date" || format == "date") {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return duration.HumanDuration(time.Since(t))
		}
	}
	return fmt.Sprint(v)
}
