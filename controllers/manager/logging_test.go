package manager_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/vigil-dev/vigil/controllers/manager"
)

// The values a logger is given reach every message it writes, as with zap's own logger,
// though they are encoded only when a message is written; two loggers made from one keep
// their own values; and no level above MaxLogVerbosity is written.
func TestCapVerbosity_ValuesReachEveryMessage(t *testing.T) {
	var out bytes.Buffer
	base := manager.CapVerbosity(zap.New(zap.WriteTo(&out), zap.Level(zapcore.Level(-10))))
	// Three calls leave room in the array of values (6 of 8), which the two loggers made
	// below must not share.
	reconcile := base.WithName("externalsecret").WithValues("namespace", "team-a").
		WithValues("controller", "externalsecret").WithValues("kind", "ExternalSecret")
	first := reconcile.WithValues("name", "db")
	second := reconcile.WithValues("name", "cache")
	first.WithValues("reconcileID", "1").Info("synced")
	second.Error(errors.New("store broke"), "sync failed", "reason", "SecretSyncedError")
	first.V(manager.MaxLogVerbosity + 1).Info("a request body")

	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines written, want 2 (the message above level %d dropped):\n%s", len(lines), manager.MaxLogVerbosity, out.String())
	}
	for key, want := range map[string]any{"logger": "externalsecret", "namespace": "team-a", "name": "db", "reconcileID": "1", "msg": "synced"} {
		if lines[0][key] != want {
			t.Errorf("first logger's line: %s = %v, want %v (%v)", key, lines[0][key], want, lines[0])
		}
	}
	for key, want := range map[string]any{"namespace": "team-a", "name": "cache", "reason": "SecretSyncedError", "error": "store broke"} {
		if lines[1][key] != want {
			t.Errorf("second logger's line: %s = %v, want %v (%v)", key, lines[1][key], want, lines[1])
		}
	}
	if _, ok := lines[1]["reconcileID"]; ok {
		t.Errorf("the second logger's line carries the first's reconcileID: %v", lines[1])
	}
}
