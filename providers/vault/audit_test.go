package vault_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/vault"
)

// With the headers made auditable, Vault's audit log names the namespace on the AppRole
// login and on the read, and the ExternalSecret on the read made for it.
func TestAuditLogNamesNamespaceAndExternalSecret(t *testing.T) {
	ctx := context.Background()
	put(t, "secret", true, "audited", `{"k":"v"}`)
	for _, h := range []string{providers.NamespaceHeader, providers.ExternalSecretHeader} {
		if _, err := vlt.Admin.Logical().WriteWithContext(ctx, "sys/config/auditing/request-headers/"+h,
			map[string]any{"hmac": false}); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "audit.log")
	if err := vlt.Admin.Sys().EnableAuditWithOptionsWithContext(ctx, "unit-audit", &vaultapi.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": file}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vlt.Admin.Sys().DisableAuditWithContext(context.Background(), "unit-audit") })

	c := newClient(t, store(appRole), vault.Options{}) // logs in for ns
	if _, err := c.GetSecret(providers.WithRequester(ctx, ns, "db"), providers.Ref{Key: "audited"}); err != nil {
		t.Fatal(err)
	}
	// Written before the response returns: both requests are in the file now.
	logged := map[string]string{}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path    string              `json:"path"`
				Headers map[string][]string `json:"headers"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "request" {
			logged[e.Request.Path] = strings.Join(e.Request.Headers["x-vigil-namespace"], ",") + " " +
				strings.Join(e.Request.Headers["x-vigil-external-secret"], ",")
		}
	}
	for path, want := range map[string]string{"auth/approle/login": ns + " ", "secret/data/audited": ns + " " + ns + "/db"} {
		if logged[path] != want {
			t.Errorf("%s logged with headers %q, want %q", path, logged[path], want)
		}
	}
}
