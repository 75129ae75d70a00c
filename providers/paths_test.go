package providers

import (
	"path"
	"slices"
	"strings"
	"testing"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

func storeWith(p esv1.SecretStoreProvider) esv1.GenericStore {
	return &esv1.SecretStore{Spec: esv1.SecretStoreSpec{Provider: &p}}
}

func vaultStore(mount string, v esv1.VaultKVStoreVersion) esv1.GenericStore {
	spec := &esv1.VaultProvider{Server: "https://vault.example", Version: v}
	if mount != "" {
		spec.Path = &mount
	}
	return storeWith(esv1.SecretStoreProvider{Vault: spec})
}

var (
	smStore  = storeWith(esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager}})
	ssmStore = storeWith(esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceParameterStore}})
	kvv2     = vaultStore("secret", esv1.VaultKVStoreV2)
	kvv1     = vaultStore("kv", esv1.VaultKVStoreV1)
	kube     = storeWith(esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{}})
	fakeSt   = storeWith(esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}})
)

func TestCheckKey_RefusesWhatTheBackendReadsAsAnotherPath(t *testing.T) {
	every := []esv1.GenericStore{smStore, ssmStore, kvv2, kvv1, fakeSt, nil}
	for _, tc := range []struct {
		key, want string
		stores    []esv1.GenericStore
	}{
		{"prod/payments/../../billing/db", `has a ".." segment: use the path as the backend stores it`, every},
		{"x/../../auth/token/lookup-self", `".." segment`, every},
		{"prod/./db", `"." segment`, every},
		{"prod//db", `empty segment`, every},
		{"prod/db/", `ends with "/"`, every},
		{"prod/%2e%2e/billing", `percent-encoded segment "%2e%2e" ("..")`, every},
		{"prod/%2E/billing", `percent-encoded`, every},
		{"prod%2fbilling", `percent-encoded`, every},
		{`prod\..\billing`, `backslash`, every},
		{"prod/\x00db", `control character`, every},
		{strings.Repeat("a", MaxKeyLength+1), `the limit is 2048`, every},
		{"/secret/db", `starts with "/", which Vault strips`, []esv1.GenericStore{kvv2, kvv1}},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/../billing-AbCdEf", `".." segment`, []esv1.GenericStore{smStore}},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/prod/db", `is an ARN of ssm "parameter"`, []esv1.GenericStore{smStore}},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", `is an ARN of secretsmanager`, []esv1.GenericStore{ssmStore}},
		{"arn:aws:secretsmanager", `not a valid ARN`, []esv1.GenericStore{smStore}},
		{"prod/db", `not a Kubernetes Secret name`, []esv1.GenericStore{kube}},
		{"..", `not a Kubernetes Secret name`, []esv1.GenericStore{kube}},
		{"Db", `not a Kubernetes Secret name`, []esv1.GenericStore{kube}},
	} {
		for _, s := range tc.stores {
			err := CheckKey(s, "spec.data[0].remoteRef.key", tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "spec.data[0].remoteRef.key ") {
				t.Errorf("%s on %s: got %v, want an error with %q", tc.key, provider(s), err, tc.want)
			}
		}
	}
}

func TestCheckKey_KeepsLegitimateKeys(t *testing.T) {
	for _, tc := range []struct {
		key    string
		stores []esv1.GenericStore
	}{
		{"prod/payments/db", []esv1.GenericStore{smStore, ssmStore, kvv2, kvv1, fakeSt, nil}},
		{"/prod/db", []esv1.GenericStore{ssmStore, smStore, fakeSt, nil}},
		{"prod/payments/db.v2", []esv1.GenericStore{smStore, ssmStore, kvv2, kvv1}},
		{"...", []esv1.GenericStore{smStore, kvv2}},
		{"team@x+y=z", []esv1.GenericStore{smStore}},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-AbCdEf", []esv1.GenericStore{smStore}},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/prod/db", []esv1.GenericStore{ssmStore}},
		{"db-credentials", []esv1.GenericStore{kube}},
		{"secret/prod/db", []esv1.GenericStore{kvv2}},
	} {
		for _, s := range tc.stores {
			if err := CheckKey(s, "spec.data[0].remoteRef.key", tc.key); err != nil {
				t.Errorf("%s on %s was refused: %v", tc.key, provider(s), err)
			}
		}
	}
}

func TestCheckFindPath(t *testing.T) {
	for _, p := range []string{"prod/payments/", "prod/payments", "", "/"} {
		for _, s := range []esv1.GenericStore{smStore, ssmStore, kvv2} {
			if p == "/" && s == kvv2 {
				continue
			}
			if err := CheckFindPath(s, "spec.dataFrom[0].find.path", p); err != nil {
				t.Errorf("find.path %q on %s was refused: %v", p, provider(s), err)
			}
		}
	}
	for _, p := range []string{"prod/../", "prod/..", "./", "a//b/", "%2e%2e/"} {
		for _, s := range []esv1.GenericStore{smStore, ssmStore, kvv2, fakeSt} {
			if err := CheckFindPath(s, "spec.dataFrom[0].find.path", p); err == nil {
				t.Errorf("find.path %q on %s was accepted", p, provider(s))
			}
		}
	}
	if err := CheckFindPath(kvv2, "f", "/prod/"); err == nil {
		t.Error(`a Vault find.path with a leading "/" was accepted`)
	}
	d := esv1.ExternalSecretDataFromRemoteRef{Extract: &esv1.ExternalSecretDataRemoteRef{Key: "a/../b"}}
	if err := CheckDataFrom(kvv2, 3, d); err == nil || !strings.HasPrefix(err.Error(), `spec.dataFrom[3].extract.key "a/../b" has a ".." segment`) {
		t.Errorf("CheckDataFrom: %v", err)
	}
}

func provider(s esv1.GenericStore) string {
	if s == nil {
		return "no store"
	}
	p := s.GetSpec().Provider
	if p.AWS != nil {
		return string(p.AWS.Service)
	}
	if p.Vault != nil {
		return "vault " + string(p.Vault.Version)
	}
	return p.Name()
}

func TestRemoteNames(t *testing.T) {
	prefixed := storeWith(esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager, Prefix: "prod/payments/"}})
	ssmPrefixed := storeWith(esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: esv1.AWSServiceParameterStore, Prefix: "/prod/payments/"}})
	noMount := vaultStore("", esv1.VaultKVStoreV2)
	for _, tc := range []struct {
		name     string
		store    esv1.GenericStore
		key      string
		find     bool
		names    []string
		relative []string
		scope    string
	}{
		{"sm key", smStore, "prod/payments/db", false, []string{"prod/payments/db"}, nil, "exact"},
		{"sm store prefix", prefixed, "db", false, []string{"prod/payments/db"}, nil, "exact"},
		{"sm arn: full (without the suffix) or partial", prefixed, "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/db-AbCdEf", false, []string{"billing/db-AbCdEf", "billing/db"}, nil, "exact"},
		{"sm partial arn", prefixed, "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/db", false, []string{"billing/db"}, nil, "exact"},
		{"sm dot segments: literal and cleaned", smStore, "prod/payments/../../billing/db", false, []string{"prod/payments/../../billing/db", "billing/db"}, nil, "exact"},
		{"sm find", prefixed, "", true, []string{"prod/payments/"}, nil, "prefix"},
		{"ssm leading slash", ssmPrefixed, "db", false, []string{"prod/payments/db"}, nil, "exact"},
		{"ssm arn", ssmStore, "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db", false, []string{"prod/db"}, nil, "exact"},
		{"ssm find", ssmStore, "/prod/payments/", true, []string{"prod/payments"}, nil, "dir"},
		{"vault v2", kvv2, "prod/payments/db", false, []string{"secret/prod/payments/db"}, []string{"prod/payments/db"}, "exact"},
		{"vault v2 key repeats the mount", kvv2, "secret/prod/payments/db", false, []string{"secret/prod/payments/db"}, []string{"prod/payments/db"}, "exact"},
		{"vault v2 escape within the mount", kvv2, "prod/payments/../../billing/db", false, []string{"secret/billing/db"}, []string{"billing/db"}, "exact"},
		{"vault v2 escape out of data/", kvv2, "a/../../config", false, []string{"secret/config"}, []string{"config"}, "exact"},
		{"vault v2 escape out of the mount", kvv2, "a/../../../sys/mounts", false, []string{"sys/mounts"}, nil, "exact"},
		{"vault v1 escape to the token API", kvv1, "x/../../auth/token/lookup-self", false, []string{"auth/token/lookup-self"}, nil, "exact"},
		{"vault without path: first segment is the mount", noMount, "secret/prod/db", false, []string{"secret/prod/db"}, nil, "exact"},
		{"vault find without path reads the mount", kvv2, "", true, []string{"secret"}, []string{""}, "dir"},
		{"vault find", kvv2, "prod/payments/", true, []string{"secret/prod/payments"}, []string{"prod/payments"}, "dir"},
		{"unknown store", nil, "prod/x/../y", false, []string{"prod/x/../y", "prod/y"}, nil, "exact"},
	} {
		got := RemoteNames(tc.store, tc.key, tc.find)
		if !slices.Equal(got.Names, tc.names) || !slices.Equal(got.Relative, tc.relative) || got.Scope != tc.scope {
			t.Errorf("%s: got %+v, want names %q relative %q scope %s", tc.name, got, tc.names, tc.relative, tc.scope)
		}
	}
}

// FuzzCheckKey: a key that CheckKey accepts is read as written. Vault's client joins and
// cleans the request path (path.Join in vaultapi.Client.NewRequest); for an accepted key that
// changes nothing, and the name the policies compare is the key under the mount. For the
// other backends an accepted key has one reading: its cleaned spelling is itself.
func FuzzCheckKey(f *testing.F) {
	for _, k := range []string{"prod/payments/db", "prod/payments/../../billing/db", "a//b", "/x", "x/%2e%2e/y", `a\b`, "a/./b", "arn:aws:secretsmanager:us-east-1:1:secret:a/../b"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if CheckKey(kvv2, "k", key) == nil {
			if got := path.Join("/v1/", "secret/data/"+key); got != "/v1/secret/data/"+key {
				t.Errorf("accepted Vault key %q is read as %q", key, got)
			}
			if n := RemoteNames(kvv2, key, false); len(n.Names) != 1 || n.Names[0] != "secret/"+key && !strings.HasPrefix(key, "secret/") {
				t.Errorf("accepted Vault key %q has names %q", key, n.Names)
			}
		}
		if CheckKey(smStore, "k", key) == nil && !strings.HasPrefix(key, "arn:") {
			if n := RemoteNames(smStore, key, false); len(n.Names) != 1 {
				t.Errorf("accepted key %q reads as %q", key, n.Names)
			}
		}
	})
}
