package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
)

// The audit trail (docs/audit-trail.md): two namespaces read prod/payments/.../db through one
// ClusterSecretStore with a role. What AWS receives, as moto records it, answers "which
// namespace read it": each namespace's AssumeRole call names the session vigil-<namespace>
// and tags it kubernetes-namespace=<namespace>; each Secrets Manager read is signed with
// the access key of its own namespace's session (the key CloudTrail resolves to
// userIdentity.arn .../assumed-role/<role>/vigil-<namespace>) and carries
// vigil-namespace/<namespace> and vigil-external-secret/<name> in its user agent
// (CloudTrail's userAgent). moto keeps no
// CloudTrail of its own: the test reads moto's recording of the requests it served and its
// record of the sessions it issued.
func TestAuditTrail_AWSSessionsNameTheNamespace(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	team := map[string]string{"audit-trail": fmt.Sprint(time.Now().UnixNano())}
	a, b := h.NewNamespace(team), h.NewNamespace(team)
	key, value := "prod/payments/"+a+"/db", "s3cr3t-aws-"+a
	h.PutRemote(key, `{"password":"`+value+`"}`)
	role := h.CreateMotoRole("audit-"+a, "iam-policy-scoped.json")
	css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "audit-" + a}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{
			Service: esv1.AWSServiceSecretsManager, Region: "us-east-1", Role: role}},
		Conditions: []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: team}}},
	}}
	h.CreateCluster(css)
	for _, ns := range []string{a, b} {
		es := externalSecret(ns, "db", css.Name, key, map[string]string{"password": "password"})
		es.Spec.SecretStoreRef.Kind = esv1.ClusterSecretStoreKind
		h.Create(es)
	}
	for _, ns := range []string{a, b} {
		h.WaitSecretValue(ns, "db", "password", value)
	}

	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range reqs {
		// The session "vigil" is the store's own validation, made for no namespace.
		if f := formOf(r); f.Get("Action") == "AssumeRole" && f.Get("RoleArn") == role && f.Get("RoleSessionName") != "vigil" {
			names = append(names, f.Get("RoleSessionName"))
			ns := strings.TrimPrefix(f.Get("RoleSessionName"), "vigil-")
			if f.Get("Tags.member.1.Key") != awsprovider.NamespaceTag || f.Get("Tags.member.1.Value") != ns {
				t.Errorf("AssumeRole for session %s has tags %s=%s, want %s=%s", f.Get("RoleSessionName"),
					f.Get("Tags.member.1.Key"), f.Get("Tags.member.1.Value"), awsprovider.NamespaceTag, ns)
			}
		}
	}
	for _, ns := range []string{a, b} {
		if !slices.Contains(names, "vigil-"+ns) {
			t.Errorf("no AssumeRole of %s with session vigil-%s; sessions: %q", role, ns, names)
		}
	}

	sessions := assumedSessions(t, role)
	readBy := map[string]bool{}
	for _, r := range reqs {
		read := r.Target() == "secretsmanager.GetSecretValue" || r.Target() == "secretsmanager.BatchGetSecretValue"
		if !read || !strings.Contains(r.Text(), key) {
			continue
		}
		ns := userAgentNamespace(r.Headers["User-Agent"])
		session := sessions[accessKeyOf(r.Headers["Authorization"])]
		if es := userAgentES.FindStringSubmatch(r.Headers["User-Agent"]); es == nil || es[1] != "db" {
			t.Errorf("%s of %s: user agent %q does not name the ExternalSecret (%s/db)",
				r.Target(), key, r.Headers["User-Agent"], awsprovider.ExternalSecretUserAgentKey)
		}
		if ns == "" || session != "vigil-"+ns {
			t.Errorf("%s of %s: user agent %q, signed by session %q; want vigil-namespace/<ns> and vigil-<ns>",
				r.Target(), key, r.Headers["User-Agent"], session)
			continue
		}
		readBy[ns] = true
	}
	if !readBy[a] || !readBy[b] {
		t.Errorf("reads of %s attributed to namespaces %v, want %s and %s", key, readBy, a, b)
	}
}

// With IRSA (auth.jwt) the session is named the same way: every AssumeRoleWithWebIdentity
// of the store's role names the session vigil-<namespace> (that call takes no session tags).
func TestAuditTrail_IRSASessionNamesTheNamespace(t *testing.T) {
	t.Parallel()
	h := env.T(t)
	role := h.CreateMotoRole(fmt.Sprint("audit-irsa-", time.Now().UnixNano()), "iam-policy-scoped.json")
	ns := irsaSetup(t, role)
	h.WaitReason(types.NamespacedName{Namespace: ns, Name: "db-credentials"}, esv1.ReasonSecretSynced)
	reqs, err := moto.Requests()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range reqs {
		if f := formOf(r); f.Get("Action") == "AssumeRoleWithWebIdentity" && f.Get("RoleArn") == role {
			names = append(names, f.Get("RoleSessionName"))
		}
	}
	if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return n != "vigil-"+ns }) {
		t.Errorf("sessions of %s: %q, want each vigil-%s", role, names, ns)
	}
}

var (
	userAgentNS = regexp.MustCompile(`(?:^| )` + awsprovider.UserAgentKey + `/([a-z0-9.-]+)`)
	userAgentES = regexp.MustCompile(`(?:^| )` + awsprovider.ExternalSecretUserAgentKey + `/([A-Za-z0-9._-]+)(?: |$)`)
	credential  = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)
)

func userAgentNamespace(ua string) string {
	if m := userAgentNS.FindStringSubmatch(ua); m != nil {
		return m[1]
	}
	return ""
}

func accessKeyOf(authorization string) string {
	if m := credential.FindStringSubmatch(authorization); m != nil {
		return m[1]
	}
	return ""
}

// assumedSessions returns, by access key id, the session names of the sessions moto issued
// for role (moto's record of its STS sessions, /moto-api/data.json).
func assumedSessions(t *testing.T, role string) map[string]string {
	t.Helper()
	resp, err := http.Get(moto.URL + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		STS struct {
			AssumedRole []struct {
				SessionName string `json:"session_name"`
				AccessKeyID string `json:"access_key_id"`
				RoleARN     string `json:"role_arn"`
			} `json:"AssumedRole"`
		} `json:"sts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range data.STS.AssumedRole {
		if s.RoleARN == role {
			out[s.AccessKeyID] = s.SessionName
		}
	}
	return out
}

// The same question on Vault: with a file audit device and Vigil's headers made auditable
// (sys/config/auditing/request-headers, as docs/audit-trail.md tells the operator), each
// read of the path through one ClusterSecretStore is logged with X-Vigil-Namespace and
// X-Vigil-External-Secret naming the namespace and ExternalSecret it was made for, and the
// value read is nowhere in the log in clear (Vault HMACs response data).
func TestAuditTrail_VaultAuditLogNamesTheNamespace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := env.T(t)
	team := map[string]string{"audit-trail": fmt.Sprint(time.Now().UnixNano())}
	a, b := h.NewNamespace(team), h.NewNamespace(team)
	path, value := "prod/payments/"+a+"/db", "s3cr3t-vault-"+a // not a name: the store is audit-vault-<a>
	rememberValue(value)
	if err := vlt.KVv2Put(ctx, "secret", path, map[string]any{"password": value}); err != nil {
		t.Fatal(err)
	}
	for _, hdr := range []string{providers.NamespaceHeader, providers.ExternalSecretHeader} {
		if _, err := vlt.Admin.Logical().WriteWithContext(ctx, "sys/config/auditing/request-headers/"+hdr,
			map[string]any{"hmac": false}); err != nil {
			t.Fatal(err)
		}
	}
	file := vaultAudit(t, ctx, "trail-"+a)
	token := vaultReadToken(t, ctx, "trail-"+a, "secret/data/"+path)
	css := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "audit-vault-" + a}, Spec: esv1.SecretStoreSpec{
		Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{Server: vlt.URL, Path: ptrTo("secret"),
			Version: esv1.VaultKVStoreV2, Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{
				Name: "vault-token", Key: "token", Namespace: ptrTo(a)}}}},
		Conditions: []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: team}}},
	}}
	h.Create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "vault-token"},
		StringData: map[string]string{"token": token}})
	h.CreateCluster(css)
	for _, ns := range []string{a, b} {
		es := externalSecret(ns, "db", css.Name, path, map[string]string{"password": "password"})
		es.Spec.SecretStoreRef.Kind = esv1.ClusterSecretStoreKind
		h.Create(es)
	}
	for _, ns := range []string{a, b} {
		h.WaitSecretValue(ns, "db", "password", value)
	}

	auditedPaths(t, ctx, file, "sys/mounts") // every request before it is in the log now
	seen := auditedReaders(t, file, "secret/data/"+path)
	for _, ns := range []string{a, b} {
		if !seen[ns+" "+ns+"/db"] {
			t.Errorf("no audited read of secret/data/%s with X-Vigil-Namespace %s and X-Vigil-External-Secret %s/db; "+
				"logged: %v", path, ns, ns, seen)
		}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"value": value, "token": token} {
		if strings.Contains(string(raw), s) {
			t.Errorf("the %s is in Vault's audit log in clear", what)
		}
	}
}

// vaultReadToken returns a token whose policy reads one path.
func vaultReadToken(t *testing.T, ctx context.Context, name, path string) string {
	t.Helper()
	if err := vlt.Policy(ctx, name, fmt.Sprintf(`path %q { capabilities = ["read"] }`, path)); err != nil {
		t.Fatal(err)
	}
	tok, err := vlt.Admin.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{
		Policies: []string{name}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	rememberValue(tok.Auth.ClientToken)
	return tok.Auth.ClientToken
}

// auditedReaders returns "<X-Vigil-Namespace> <X-Vigil-External-Secret>" of the requests
// for path in a Vault audit log.
func auditedReaders(t *testing.T, file, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var entry struct {
			Type    string `json:"type"`
			Request struct {
				Path    string              `json:"path"`
				Headers map[string][]string `json:"headers"`
			} `json:"request"`
		}
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			t.Fatal(err)
		}
		if entry.Type != "request" || entry.Request.Path != path {
			continue
		}
		ns := strings.Join(entry.Request.Headers[strings.ToLower(providers.NamespaceHeader)], ",")
		es := strings.Join(entry.Request.Headers[strings.ToLower(providers.ExternalSecretHeader)], ",")
		seen[ns+" "+es] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return seen
}
