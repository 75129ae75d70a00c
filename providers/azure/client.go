package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/vigil-dev/vigil/providers"
)

// Object types of a remote key's prefix (ESO's).
const (
	typeSecret = "secret"
	typeKey    = "key"
	typeCert   = "cert"
)

// objectName is what Key Vault accepts as an object name.
var objectName = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// Client reads and writes one store's vault.
type Client struct {
	vault    string // https://<name>.vault.azure.net
	secrets  *azsecrets.Client
	keys     *azkeys.Client
	certs    *certClient
	cred     azcore.TokenCredential
	scope    string // the vault's token scope, for Validate
	observe  providers.CallObserver
	identity string
}

func newClient(vault string, cred azcore.TokenCredential, opts azcore.ClientOptions, observe providers.CallObserver,
	identity string) (*Client, error) {
	secrets, err := azsecrets.NewClient(vault, cred, &azsecrets.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("key vault secrets client: %w", err)
	}
	keys, err := azkeys.NewClient(vault, cred, &azkeys.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("key vault keys client: %w", err)
	}
	scope := vaultScope(vault)
	certs, err := newCertClient(vault, cred, scope, opts)
	if err != nil {
		return nil, err
	}
	return &Client{vault: vault, secrets: secrets, keys: keys, certs: certs, cred: cred, scope: scope,
		observe: observe, identity: identity}, nil
}

// vaultScope is the token scope of a vault: its domain without the vault's own label
// (https://vault.azure.net/.default for https://x.vault.azure.net), which is the resource
// Key Vault names in its challenge.
func vaultScope(vault string) string {
	u, _ := url.Parse(vault)
	host := u.Hostname()
	if _, parent, ok := strings.Cut(host, "."); ok {
		host = parent
	}
	return "https://" + host + "/.default"
}

// splitKey returns a remote key's object type and name: `<name>` and `secret/<name>` are
// secrets, `key/<name>` keys, `cert/<name>` certificates.
func splitKey(key string) (objType, name string, err error) {
	objType, name = typeSecret, key
	if t, n, ok := strings.Cut(key, "/"); ok {
		objType, name = t, n
	}
	switch objType {
	case typeSecret, typeKey, typeCert:
	default:
		return "", "", providers.Configf("key %q: object type %q is not one of secret, key or cert; write "+
			"<name>, secret/<name>, key/<name> or cert/<name>", providers.Truncate(key, 256),
			providers.Truncate(objType, 64))
	}
	if !objectName.MatchString(name) {
		return "", "", providers.Configf("key %q: %q is not a Key Vault object name (1 to 127 letters, digits and "+
			"dashes)", providers.Truncate(key, 256), providers.Truncate(name, 128))
	}
	return objType, name, nil
}

// call runs one SDK call and reports it.
func (c *Client) call(name string, do func() error) error {
	start := time.Now()
	err := do()
	c.observe(ProviderName, name, err, time.Since(start))
	return err
}

// GetSecret implements providers.Client: a secret's value, a key's public JWK as JSON, or a
// certificate's DER (X.509), as ESO returns them.
func (c *Client) GetSecret(ctx context.Context, ref providers.Ref) ([]byte, error) {
	objType, name, err := splitKey(ref.Key)
	if err != nil {
		return nil, err
	}
	var v []byte
	switch objType {
	case typeSecret:
		var resp azsecrets.GetSecretResponse
		err = c.call("GetSecret", func() (e error) { resp, e = c.secrets.GetSecret(ctx, name, ref.Version, nil); return })
		if err == nil && resp.Value != nil {
			v = []byte(*resp.Value)
		}
	case typeKey:
		var resp azkeys.GetKeyResponse
		err = c.call("GetKey", func() (e error) { resp, e = c.keys.GetKey(ctx, name, ref.Version, nil); return })
		if err == nil && resp.Key != nil {
			v, err = json.Marshal(resp.Key)
		}
	case typeCert:
		var b *certBundle
		err = c.call("GetCertificate", func() (e error) { b, e = c.certs.get(ctx, name, ref.Version); return })
		if err == nil {
			v = b.CER
		}
	}
	if err != nil {
		return nil, c.describe(err, ref.Key, objType, permGet)
	}
	if v == nil {
		return nil, providers.NotFound(ref, nil)
	}
	return v, providers.CheckValue(ref, v)
}

// GetMetadata implements providers.MetadataGetter: the tags of the object's version.
func (c *Client) GetMetadata(ctx context.Context, ref providers.Ref) (map[string]string, error) {
	objType, name, err := splitKey(ref.Key)
	if err != nil {
		return nil, err
	}
	var tags map[string]*string
	switch objType {
	case typeSecret:
		var resp azsecrets.GetSecretResponse
		err = c.call("GetSecret", func() (e error) { resp, e = c.secrets.GetSecret(ctx, name, ref.Version, nil); return })
		tags = resp.Tags
	case typeKey:
		var resp azkeys.GetKeyResponse
		err = c.call("GetKey", func() (e error) { resp, e = c.keys.GetKey(ctx, name, ref.Version, nil); return })
		tags = resp.Tags
	case typeCert:
		var b *certBundle
		err = c.call("GetCertificate", func() (e error) { b, e = c.certs.get(ctx, name, ref.Version); return })
		if b != nil {
			tags = b.Tags
		}
	}
	if err != nil {
		return nil, c.describe(err, ref.Key, objType, permGet)
	}
	return plainTags(tags), nil
}

func plainTags(tags map[string]*string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// Validate implements providers.Client: the credential obtains a token for the vault (no
// vault permission is needed for that; a wrong secret, tenant or federation fails here).
func (c *Client) Validate(ctx context.Context) error {
	return c.describe(c.call("GetToken", func() error {
		_, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
		return err
	}), "", "", "")
}

// describe turns a failed call into a providers.BackendError of typed facts: Key Vault's
// error code and status, or Entra ID's error code for a refused token request. Neither
// service's message text is kept (another component's text; THREATS.md).
func (c *Client) describe(err error, key, objType, permission string) error {
	if err == nil {
		return nil
	}
	var authErr *azidentity.AuthenticationFailedError
	var re *azcore.ResponseError
	switch {
	case errors.As(err, &authErr):
		be := providers.NewBackendError("Microsoft Entra ID", "GetToken", key, err)
		be.Identity, be.Code = c.identity, entraCode(authErr.RawResponse)
		if authErr.RawResponse != nil {
			be.Status = authErr.RawResponse.StatusCode
		}
		return be
	case errors.As(err, &re):
		be := providers.NewBackendError("Azure Key Vault", opName(objType, permission), key, err)
		be.Status, be.Code, be.Identity = re.StatusCode, re.ErrorCode, c.identity
		if be.Code == "" {
			be.Code = http.StatusText(re.StatusCode)
		}
		switch inner := innerCode(re.RawResponse); inner {
		case "SecretDisabled", "KeyDisabled":
			be.Code = inner // a disabled version is refused with 403 too; no permission would help
		case "ObjectIsDeletedButRecoverable":
			be.Code = inner
			be.Hint = "Key Vault keeps a soft-deleted " + kindOf(objType)[:len(kindOf(objType))-1] +
				" of this name: recover or purge it, or push to another name"
		}
		be.NotFound = re.StatusCode == http.StatusNotFound
		be.Denied = re.StatusCode == http.StatusForbidden && be.Code == "Forbidden"
		if be.Denied && permission != "" {
			be.Permission = fmt.Sprintf("the %s/%s data action (e.g. the Key Vault %s role)", kindOf(objType),
				permission, roleOf(objType, permission))
			be.Resource = "vault " + c.vault
		}
		return be
	}
	return providers.NewBackendError("Azure Key Vault", opName(objType, permission), key, err)
}
