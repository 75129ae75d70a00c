package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// `vigil template` renders offline the Secret the running controller writes: the same
// data, type, labels and annotations (the data hash included), for the same ExternalSecret
// (v1beta1, creationPolicy left to the CRD's default) and the data its store returns.
func TestCLITemplate_RendersWhatTheControllerWrites(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	ctx := context.Background()
	ns := h.NewNamespace()
	manifest := fmt.Sprintf(`apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: db, namespace: %[1]s}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: fake}
  data:
  - {secretKey: user, remoteRef: {key: user}}
  - {secretKey: pass, remoteRef: {key: pass}}
  target:
    template:
      type: kubernetes.io/basic-auth
      metadata:
        labels: {app: payments}
        annotations: {team: payments}
      data:
        username: "{{ .user }}"
        password: "{{ .pass }}"
        dsn: "postgres://{{ .user }}:{{ .pass | urlquery }}@db:5432/app"
      templateFrom:
      - configMap:
          name: db-config
          items: [{key: config, templateAs: KeysAndValues}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: db-config, namespace: %[1]s}
data:
  config: "{{ .user }}.conf: host=db user={{ .user }} hash={{ .pass | sha256sum | trunc 8 }}"
`, ns)
	dir := t.TempDir()
	file := filepath.Join(dir, "externalsecret.yaml")
	values := filepath.Join(dir, "data.json")
	store := fmt.Sprintf(`apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: fake, namespace: %s}
spec:
  provider:
    fake:
      data:
      - {key: user, value: app}
      - {key: pass, value: "cli-tpl-p@ss"}
`, ns)
	for path, text := range map[string]string{file: manifest, values: `{"user": "app", "pass": "cli-tpl-p@ss"}`, filepath.Join(dir, "store.yaml"): store} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "store.yaml"), file} {
		if _, err := env.Apply(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	live := h.WaitSecretValue(ns, "db", "username", "app")

	cmd := exec.Command(vigilBinary(t), "template", "-f", file, "--values", values, "--show-values", "-o", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("vigil template: %v: %s", err, stderr.String())
	}
	var offline corev1.Secret
	if err := json.Unmarshal(stdout.Bytes(), &offline); err != nil {
		t.Fatalf("vigil template printed no Secret: %v\n%s", err, stdout.String())
	}
	if !reflect.DeepEqual(offline.Data, live.Data) {
		t.Errorf("data differs:\noffline %q\nlive    %q", offline.Data, live.Data)
	}
	if offline.Type != live.Type || !reflect.DeepEqual(offline.Labels, live.Labels) || !reflect.DeepEqual(offline.Annotations, live.Annotations) {
		t.Errorf("type, labels or annotations differ:\noffline %s %v %v\nlive    %s %v %v",
			offline.Type, offline.Labels, offline.Annotations, live.Type, live.Labels, live.Annotations)
	}
	if len(offline.OwnerReferences) != 1 || len(live.OwnerReferences) != 1 ||
		offline.OwnerReferences[0].Name != live.OwnerReferences[0].Name || offline.OwnerReferences[0].Kind != live.OwnerReferences[0].Kind {
		t.Errorf("owner references differ:\noffline %v\nlive    %v", offline.OwnerReferences, live.OwnerReferences)
	}
}
