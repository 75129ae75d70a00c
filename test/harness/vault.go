package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VaultRootToken is the root token of the dev server (it only listens on loopback).
const VaultRootToken = "vigil-test-root"

// Vault is a `vault server -dev` on a loopback port: in memory, unsealed, KV v2 mounted at
// secret/. Tests configure it through Admin (root token).
type Vault struct {
	URL   string
	Admin *vaultapi.Client
	dir   string
	cmd   *exec.Cmd
}

// vaultBinary returns bin/vault, which `make test-assets` builds from Go modules.
func vaultBinary() (string, error) {
	bin := os.Getenv("VIGIL_VAULT")
	if bin == "" {
		bin = filepath.Join(RepoRoot(), "bin", "vault")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("vault not found at %s: run `make test-assets` "+
			"(it builds Vault from the github.com/hashicorp/vault module, about 14 minutes the first time)", bin)
	}
	return bin, nil
}

// StartVault starts a Vault dev server on a free loopback port and waits until it answers.
func StartVault() (*Vault, error) { return startVault("") }

// startVault starts the dev server; a non-empty config (HCL) is merged into the dev
// configuration (extra listeners, for example).
func startVault(config string) (*Vault, error) {
	bin, err := vaultBinary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigil-vault-")
	if err != nil {
		return nil, err
	}
	v := &Vault{URL: "http://127.0.0.1:" + strconv.Itoa(port), dir: dir}
	logf, err := os.Create(filepath.Join(dir, "vault.log"))
	if err != nil {
		return nil, err
	}
	args := []string{"server", "-dev", "-dev-no-store-token",
		"-dev-root-token-id=" + VaultRootToken, "-dev-listen-address=127.0.0.1:" + strconv.Itoa(port)}
	if config != "" {
		file := filepath.Join(dir, "extra.hcl")
		if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "-config="+file)
	}
	v.cmd = exec.Command(bin, args...)
	// A dev server needs no HOME state; keep it from reading the caller's VAULT_* settings.
	v.cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	v.cmd.Stdout, v.cmd.Stderr = logf, logf
	if err := v.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting vault: %w", err)
	}
	logf.Close()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = v.URL
	if v.Admin, err = vaultapi.NewClient(cfg); err != nil {
		v.Close()
		return nil, err
	}
	v.Admin.SetToken(VaultRootToken)
	err = WaitFor(context.Background(), 60*time.Second, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(v.URL + "/v1/sys/health")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "vault.log"))
		v.Close()
		return nil, fmt.Errorf("vault dev server did not become ready: %w\n%s", err, log)
	}
	return v, nil
}

// Close stops the server and removes its files.
func (v *Vault) Close() {
	if v.cmd != nil && v.cmd.Process != nil {
		_ = v.cmd.Process.Kill()
		_ = v.cmd.Wait()
	}
	os.RemoveAll(v.dir)
}

// KubernetesAuth mounts Vault's Kubernetes auth method at mount and points it at the control
// plane: Vault reviews the ServiceAccount tokens it receives with the API server's
// TokenReview API, using a token of reviewer (a ServiceAccount of namespace that this call
// creates and binds to system:auth-delegator). Every login is then checked for real.
func (v *Vault) KubernetesAuth(ctx context.Context, cp *ControlPlane, mount, namespace string) error {
	const reviewer = "vault-token-reviewer"
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: reviewer}}
	if err := cp.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-token-reviewer-" + namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: namespace, Name: reviewer}},
	}
	if err := cp.Client.Create(ctx, crb); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	seconds := int64(24 * 3600)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
	if err := cp.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return fmt.Errorf("token for %s: %w", reviewer, err)
	}
	opts := &vaultapi.EnableAuthOptions{Type: "kubernetes"}
	if err := v.Admin.Sys().EnableAuthWithOptionsWithContext(ctx, mount, opts); err != nil {
		return err
	}
	_, err := v.Admin.Logical().WriteWithContext(ctx, "auth/"+mount+"/config", map[string]any{
		"kubernetes_host":      cp.Config.Host,
		"kubernetes_ca_cert":   string(cp.Config.CAData),
		"token_reviewer_jwt":   tr.Status.Token,
		"disable_local_ca_jwt": true,
	})
	return err
}

// KubernetesRole creates a role of the Kubernetes auth method at mount that admits
// ServiceAccount sa of namespace with the given Vault policy. The role expects the
// audience "vault", which Vigil mints its tokens for (never the API server's own).
func (v *Vault) KubernetesRole(ctx context.Context, mount, role, namespace, sa, policy string) error {
	_, err := v.Admin.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/"+role, map[string]any{
		"bound_service_account_names":      []string{sa},
		"bound_service_account_namespaces": []string{namespace},
		"token_policies":                   []string{policy},
		"token_ttl":                        "1h",
		"audience":                         "vault",
	})
	return err
}

// Policy writes an ACL policy.
func (v *Vault) Policy(ctx context.Context, name, hcl string) error {
	return v.Admin.Sys().PutPolicyWithContext(ctx, name, hcl)
}

// KVv2Put writes data to a KV v2 mount.
func (v *Vault) KVv2Put(ctx context.Context, mount, path string, data map[string]any) error {
	_, err := v.Admin.KVv2(mount).Put(ctx, path, data)
	return err
}

// DatabaseEngine mounts Vault's database secrets engine at mount, connects it to pg as its
// superuser, and creates role, which issues PostgreSQL login roles valid for ttl.
func (v *Vault) DatabaseEngine(ctx context.Context, pg *Postgres, mount, role, ttl string) error {
	if err := v.Admin.Sys().MountWithContext(ctx, mount, &vaultapi.MountInput{Type: "database"}); err != nil {
		return err
	}
	if _, err := v.Admin.Logical().WriteWithContext(ctx, mount+"/config/pg", map[string]any{
		"plugin_name": "postgresql-database-plugin",
		"connection_url": fmt.Sprintf(
			"postgresql://{{username}}:{{password}}@127.0.0.1:%d/postgres?sslmode=disable", pg.Port),
		"username":      "postgres",
		"password":      pg.Password,
		"allowed_roles": role,
	}); err != nil {
		return fmt.Errorf("configuring the database connection: %w", err)
	}
	_, err := v.Admin.Logical().WriteWithContext(ctx, mount+"/roles/"+role, map[string]any{
		"db_name":             "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		"default_ttl":         ttl,
		"max_ttl":             ttl,
	})
	return err
}
