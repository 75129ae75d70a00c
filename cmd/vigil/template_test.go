package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const (
	tplES   = "testdata/template/externalsecret.yaml"
	tplData = "testdata/template/data.json"
	tplPass = "tpl-p@ss-offline" // the secret value in tplData
)

func renderJSON(t *testing.T, args ...string) corev1.Secret {
	t.Helper()
	code, out, errOut := vigil("", append([]string{"template", "-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("vigil template %v: exit %d: %s", args, code, errOut)
	}
	var s corev1.Secret
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("output is not a Secret in JSON: %v\n%s", err, out)
	}
	return s
}

// The Secret is what the controller writes: the template's keys, type and labels, the
// CRD's defaults applied (creationPolicy Owner: the ExternalSecret controls the Secret).
func TestTemplate_RendersTheSecretTheControllerWrites(t *testing.T) {
	s := renderJSON(t, "-f", tplES, "--values", tplData, "--show-values")
	want := map[string]string{
		"username": "app",
		"password": tplPass,
		"dsn":      "postgres://app:tpl-p%40ss-offline@db:5432/app",
		"app.conf": "host=db user=app",
	}
	if len(s.Data) != len(want) {
		t.Errorf("keys %v, want %v", s.Data, want)
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, s.Data[k], v)
		}
	}
	if s.Type != corev1.SecretTypeBasicAuth || s.Labels["app"] != "payments" || s.Labels["reconcile.external-secrets.io/managed"] != "true" {
		t.Errorf("type %s, labels %v: want basic-auth, app=payments and the managed label", s.Type, s.Labels)
	}
	if s.Annotations["reconcile.external-secrets.io/data-hash"] == "" {
		t.Errorf("no data-hash annotation: %v", s.Annotations)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "ExternalSecret" || s.OwnerReferences[0].Name != "db" {
		t.Errorf("owner references %v: want the ExternalSecret as controller (the CRD defaults creationPolicy to Owner)", s.OwnerReferences)
	}
}

// Without --show-values no value reaches stdout or stderr, in clear or base64.
func TestTemplate_KeysOnlyByDefault(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		code, out, errOut := vigil("", "template", "-f", tplES, "--values", tplData, "-o", format)
		if code != 0 {
			t.Fatalf("-o %s: exit %d: %s", format, code, errOut)
		}
		for _, v := range []string{tplPass, base64.StdEncoding.EncodeToString([]byte(tplPass)), "host=db user=app", "YXBw" /* app */} {
			if strings.Contains(out+errOut, v) {
				t.Errorf("-o %s prints the value %q without --show-values:\n%s", format, v, out)
			}
		}
		for _, k := range []string{"username", "password", "dsn", "app.conf", "hidden: 16 bytes"} {
			if !strings.Contains(out, k) {
				t.Errorf("-o %s does not name %q:\n%s", format, k, out)
			}
		}
	}
}

// A template that fails exits 1 with a message that names the field and the reason or the
// limit, never a value; the stdout stays empty.
func TestTemplate_RenderErrorsExit1(t *testing.T) {
	dir := t.TempDir()
	es, err := os.ReadFile(tplES)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ template, says string }{
		"reason": {`{{ .pass | filterPEM \"CERTIFICATE\" }}`, `spec.target.template.data["password"]: failed at line 1: function filterPEM: no CERTIFICATE block in the input`},
		"limit":  {`{{ range until 100000000 }}{{ .pass }}{{ end }}`, "exceed the template value limit of 1048576 bytes"},
	} {
		file := filepath.Join(dir, name+".yaml")
		bad := strings.Replace(string(es), `password: "{{ .pass }}"`, `password: "`+tc.template+`"`, 1)
		if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := vigil("", "template", "-f", file, "--values", tplData, "--show-values")
		if code != 1 || out != "" || !strings.Contains(errOut, tc.says) || strings.Contains(errOut, tplPass) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1, nothing on stdout, a message with %q and no value", name, code, out, errOut, tc.says)
		}
	}
}

func TestTemplate_UsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "list.json")
	writeFile(t, list, []byte(`["`+tplPass+`"]`))
	for name, tc := range map[string]struct {
		args []string
		says string
	}{
		"no -f":             {[]string{"--values", tplData}, `required flag(s) "filename" not set`},
		"no ExternalSecret": {[]string{"-f", tplData}, "no ExternalSecret"},
		"values not a map":  {[]string{"-f", tplES, "--values", list}, "is not a JSON or YAML map"},
		"missing values":    {[]string{"-f", tplES, "--values", filepath.Join(dir, "nope.json")}, "no such file"},
		"bad output":        {[]string{"-f", tplES, "-o", "xml"}, `-o "xml" is not yaml or json`},
		"an argument":       {[]string{"-f", tplES, "extra"}, "unknown command"},
	} {
		code, _, errOut := vigil("", append([]string{"template"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.says) || strings.Contains(errOut, tplPass) {
			t.Errorf("%s: exit %d, %q; want 2 and %q", name, code, errOut, tc.says)
		}
	}
}

// creationPolicy Merge writes into an existing Secret: offline, that Secret comes from -f.
func TestTemplate_MergeNeedsTheTargetSecret(t *testing.T) {
	dir := t.TempDir()
	es := filepath.Join(dir, "es.yaml")
	writeFile(t, es, []byte(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: payments}
spec:
  secretStoreRef: {name: aws-secrets}
  target: {name: app, creationPolicy: Merge}
  data:
  - {secretKey: pass, remoteRef: {key: prod/payments/db}}
`))
	code, _, errOut := vigil("", "template", "-f", es, "--values", tplData)
	if code != 1 || !strings.Contains(errOut, "Secret app does not exist; creationPolicy Merge only writes into an existing Secret") {
		t.Errorf("Merge without the Secret: exit %d, %q", code, errOut)
	}
	existing := filepath.Join(dir, "secret.yaml")
	writeFile(t, existing, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: app, namespace: payments}\nstringData: {}\ndata: {kept: a2VwdA==}\n"))
	s := renderJSON(t, "-f", es, "-f", existing, "--values", tplData, "--show-values")
	if string(s.Data["kept"]) != "kept" || string(s.Data["pass"]) != tplPass {
		t.Errorf("merged data %v: want the existing key kept and pass written", s.Data)
	}
}

// A Merge target Secret given with stringData: its values are folded into data as the API
// server would store them, and hidden without --show-values like any other value.
func TestTemplate_StringDataIsFoldedAndHidden(t *testing.T) {
	dir := t.TempDir()
	es := filepath.Join(dir, "es.yaml")
	writeFile(t, es, []byte(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: payments}
spec:
  secretStoreRef: {name: aws-secrets}
  target: {name: app, creationPolicy: Merge}
  data:
  - {secretKey: pass, remoteRef: {key: prod/payments/db}}
`))
	const apikey = "SUPERSECRET-apikey-value"
	existing := filepath.Join(dir, "secret.yaml")
	writeFile(t, existing, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: app, namespace: payments}\n"+
		"stringData: {apikey: "+apikey+"}\n"))
	for _, format := range []string{"yaml", "json"} {
		code, out, errOut := vigil("", "template", "-f", es, "-f", existing, "--values", tplData, "-o", format)
		if code != 0 {
			t.Fatalf("-o %s: exit %d: %s", format, code, errOut)
		}
		for _, v := range []string{apikey, base64.StdEncoding.EncodeToString([]byte(apikey)), tplPass} {
			if strings.Contains(out+errOut, v) {
				t.Errorf("-o %s prints the value %q without --show-values:\n%s", format, v, out)
			}
		}
		if strings.Contains(out, "stringData") || !strings.Contains(out, "apikey") {
			t.Errorf("-o %s: want apikey listed under data, no stringData:\n%s", format, out)
		}
	}
	s := renderJSON(t, "-f", es, "-f", existing, "--values", tplData, "--show-values")
	if string(s.Data["apikey"]) != apikey || string(s.Data["pass"]) != tplPass || len(s.StringData) != 0 {
		t.Errorf("--show-values: data %v stringData %v: want apikey folded into data beside pass", s.Data, s.StringData)
	}
}
