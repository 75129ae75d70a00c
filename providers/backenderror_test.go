package providers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestBackendError_Message(t *testing.T) {
	for name, tc := range map[string]struct {
		err  *BackendError
		want string
	}{
		"vault denied": {&BackendError{Backend: "Vault", Op: "ReadSecretData", Key: "secret/app", Code: "permission denied",
			Status: 403, Identity: `Vault role "app" at auth/kubernetes`, Denied: true,
			Permission: `the "read" capability`, Resource: "path secret/data/app in the identity's Vault policy"},
			`Vault ReadSecretData of key "secret/app" failed: permission denied (HTTP 403); identity Vault role "app" at ` +
				`auth/kubernetes; needs the "read" capability on path secret/data/app in the identity's Vault policy`},
		"kubernetes missing with hint": {&BackendError{Backend: "Kubernetes", Op: "get secrets", Key: "db", Code: "NotFound",
			Status: 404, NotFound: true, Hint: `closest names: "db-creds"`},
			`Kubernetes get secrets of key "db" failed: NotFound (HTTP 404); closest names: "db-creds"`},
		"own limit": {&BackendError{Backend: "Vault", Op: "ReadSecretData", Cause: &OwnError{Msg: "too big", Kind: ErrLimit}},
			`Vault ReadSecretData failed: too big (limit exceeded)`},
		"hostile key": {&BackendError{Backend: "Vault", Op: "read", Key: "a\nb" + strings.Repeat("x", 400), Code: "x"},
			`Vault read of key "` + Truncate("a\nb"+strings.Repeat("x", 400), maxField) + `" failed: x`},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	nf := error(&BackendError{NotFound: true, Cause: &OwnError{Kind: ErrLimit}})
	if !errors.Is(nf, ErrNotFound) || !errors.Is(nf, ErrLimit) {
		t.Error("a missing key's error must wrap ErrNotFound, and a limit's ErrLimit")
	}
}

func TestClosest(t *testing.T) {
	got := Closest("db-pasword", []string{"db-password", "db-user", "api-key", "db-pasword", "db-passwords"})
	if want := []string{"db-password", "db-passwords", "db-user"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Closest = %v, want %v", got, want)
	}
}

// A missing property names the properties that exist (keys, never values), closest first.
func TestSelectProperty_NamesExistingProperties(t *testing.T) {
	value := []byte(`{"username":"admin","password":"hunter2-secret","db":{"host":"h","port":5432}}`)
	for prop, want := range map[string]string{
		"pasword": `closest properties in the value: "password", "db", "username"`,
		"db.hots": `closest properties in "db": "host", "port"`,
	} {
		_, err := SelectProperty(value, Ref{Key: "k"}, prop)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("property %q: %v, want %q", prop, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "admin")) {
			t.Errorf("property %q: %v shows a value", prop, err)
		}
	}
}

// Keys that look like credentials are data, not names: the hint leaves them out, and says
// only how many properties exist when none is left to name.
func TestSelectProperty_HidesCredentialLikeKeys(t *testing.T) {
	secrets := []string{"sk_live_51HqLyjWDarjtT1zdp7dc", "AKIAIOSFODNN7EXAMPLE", "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "dGhpc2lzYXNlY3JldHZhbHVlZm9yeW91cg", "p@ss word"}
	for _, k := range secrets {
		value := []byte(fmt.Sprintf(`{%q:"prod"}`, k))
		_, err := SelectProperty(value, Ref{Key: "k"}, "enviroment")
		want := `1 properties exist in the value; none close to "enviroment"`
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), k) {
			t.Errorf("key %q: %v, want %q and not the key", k, err, want)
		}
	}
	value := []byte(`{"sk_live_51HqLyjWDarjtT1zdp7dc":"prod","environment":"x","db_host":"h"}`)
	_, err := SelectProperty(value, Ref{Key: "k"}, "enviroment")
	want := `closest properties in the value: "environment", "db_host"`
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "sk_live") {
		t.Errorf("mixed keys: %v, want %q and not the credential-like key", err, want)
	}
	for _, k := range []string{"password", "db_host", "tls.crt", "api-key", "internationalization", "v1_config"} {
		if !nameLike(k) {
			t.Errorf("nameLike(%q) = false, want a name", k)
		}
	}
}
