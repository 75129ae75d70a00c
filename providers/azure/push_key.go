package azure

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/vigil-dev/vigil/providers"
)

// Pushing to key/<name> imports a PEM private key (PKCS #8, PKCS #1 RSA or SEC 1 EC) as a
// Key Vault key, as ESO does. Key Vault vaults hold RSA and EC keys only: a value that is no
// PEM key (ESO would import it as a symmetric "oct" key, which only Managed HSM takes) is
// refused. The same key pushed again writes nothing; a new key is a new version.

// jwkOf returns the JSON Web Key of a PEM private key, private parts included (Key Vault
// keeps them and never returns them). Parse errors are described by kind: their text could
// carry key bytes.
func jwkOf(ref providers.PushRef, value []byte) (*azkeys.JSONWebKey, error) {
	block, rest := pem.Decode(value)
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil, providers.Configf("key %s: the value to push is not one PEM private key (Key Vault vaults import "+
			"RSA and EC keys)", ref)
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, providers.Configf("key %s: PEM block %q is not a private key (PRIVATE KEY, RSA PRIVATE KEY or "+
			"EC PRIVATE KEY)", ref, providers.Truncate(block.Type, 40))
	}
	if err != nil {
		return nil, providers.Configf("key %s: the %s PEM block does not parse", ref, block.Type)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return rsaJWK(k), nil
	case *ecdsa.PrivateKey:
		return ecJWK(ref, k)
	}
	return nil, providers.Configf("key %s: Key Vault imports RSA and EC keys, not %T", ref, key)
}

func rsaJWK(k *rsa.PrivateKey) *azkeys.JSONWebKey {
	k.Precompute()
	kty := azkeys.KeyTypeRSA
	jwk := &azkeys.JSONWebKey{Kty: &kty, N: k.N.Bytes(), E: big.NewInt(int64(k.E)).Bytes(), D: k.D.Bytes()}
	if len(k.Primes) == 2 {
		jwk.P, jwk.Q = k.Primes[0].Bytes(), k.Primes[1].Bytes()
		jwk.DP, jwk.DQ, jwk.QI = k.Precomputed.Dp.Bytes(), k.Precomputed.Dq.Bytes(), k.Precomputed.Qinv.Bytes()
	}
	return jwk
}

func ecJWK(ref providers.PushRef, k *ecdsa.PrivateKey) (*azkeys.JSONWebKey, error) {
	var crv azkeys.CurveName
	switch k.Curve {
	case elliptic.P256():
		crv = azkeys.CurveNameP256
	case elliptic.P384():
		crv = azkeys.CurveNameP384
	case elliptic.P521():
		crv = azkeys.CurveNameP521
	default:
		return nil, providers.Configf("key %s: Key Vault imports EC keys on P-256, P-384 and P-521", ref)
	}
	// The fixed-length encodings (Go 1.25's Bytes, not the deprecated big.Int fields): the
	// uncompressed point 0x04||X||Y and the private scalar, as JWK's x, y and d.
	point, err := k.PublicKey.Bytes()
	if err != nil {
		return nil, providers.Configf("key %s: the EC key is not a valid key", ref)
	}
	d, err := k.Bytes()
	if err != nil {
		return nil, providers.Configf("key %s: the EC key is not a valid key", ref)
	}
	size := (len(point) - 1) / 2
	kty := azkeys.KeyTypeEC
	return &azkeys.JSONWebKey{Kty: &kty, Crv: &crv, X: point[1 : 1+size], Y: point[1+size:], D: d}, nil
}

// samePublicKey compares what Key Vault returns of a key: its type and public parts.
func samePublicKey(a, b *azkeys.JSONWebKey) bool {
	if a == nil || b == nil || a.Kty == nil || b.Kty == nil {
		return false
	}
	kty := func(k *azkeys.JSONWebKey) string { // RSA-HSM and RSA are the same key material
		s := string(*k.Kty)
		if len(s) > 4 && s[len(s)-4:] == "-HSM" {
			s = s[:len(s)-4]
		}
		return s
	}
	crv := func(k *azkeys.JSONWebKey) string {
		if k.Crv == nil {
			return ""
		}
		return string(*k.Crv)
	}
	return kty(a) == kty(b) && crv(a) == crv(b) && bytes.Equal(a.N, b.N) && bytes.Equal(a.E, b.E) &&
		bytes.Equal(a.X, b.X) && bytes.Equal(a.Y, b.Y)
}

// pushKey imports a key, or a new version of one Vigil created (or, with overwrite, of
// any), unless Key Vault holds the same key already.
func (c *Client) pushKey(ctx context.Context, ref providers.PushRef, name string, meta pushSpec, value []byte,
	overwrite bool) error {
	jwk, err := jwkOf(ref, value)
	if err != nil {
		return err
	}
	cur, err := c.currentKey(ctx, ref.Key, name)
	if err != nil {
		return err
	}
	var have azkeys.KeyBundle
	managed := true
	if cur != nil {
		have = cur.KeyBundle
		if have.Managed != nil && *have.Managed {
			return providers.Configf("key %s is the key of a Key Vault certificate, which Key Vault writes itself; "+
				"push to another name", ref)
		}
		if managed = isManaged(have.Tags); !managed && !overwrite {
			return providers.NotManaged(ref)
		}
	}
	p := keyProps(have, meta, managed)
	if cur != nil && samePublicKey(have.Key, jwk) {
		return c.updateKeyProps(ctx, ref.Key, name, have, p)
	}
	params := azkeys.ImportKeyParameters{Key: jwk, Tags: p.tags}
	if p.expires != nil {
		params.KeyAttributes = &azkeys.KeyAttributes{Expires: p.expires}
	}
	err = c.call("ImportKey", func() error { _, e := c.keys.ImportKey(ctx, name, params, nil); return e })
	return c.describe(err, ref.Key, typeKey, permImport)
}

// currentKey reads a key's current version, nil when there is none.
func (c *Client) currentKey(ctx context.Context, key, name string) (*azkeys.GetKeyResponse, error) {
	var resp azkeys.GetKeyResponse
	err := c.call("GetKey", func() (e error) { resp, e = c.keys.GetKey(ctx, name, "", nil); return })
	if err != nil {
		err = c.describe(err, key, typeKey, permGet)
		if errors.Is(err, providers.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return &resp, nil
}

// keyProps are the tags and expiry a key push writes: the current version's, with
// data[].metadata on top, and the managed-by tag when Vigil owns the key.
func keyProps(have azkeys.KeyBundle, meta pushSpec, managed bool) props {
	p := props{tags: maps.Clone(have.Tags), expires: meta.expires}
	if have.Attributes != nil && p.expires == nil {
		p.expires = have.Attributes.Expires
	}
	if p.tags == nil {
		p.tags = map[string]*string{}
	}
	for k, v := range meta.Tags {
		p.tags[k] = &v
	}
	if managed {
		p.tags[providers.ManagedByKey] = ptr(providers.ManagedByValue)
	}
	return p
}

// updateKeyProps brings the current version's tags and expiry to p when they differ.
func (c *Client) updateKeyProps(ctx context.Context, key, name string, have azkeys.KeyBundle, p props) error {
	var expires *time.Time
	if have.Attributes != nil {
		expires = have.Attributes.Expires
	}
	if sameTime(expires, p.expires) && sameTags(have.Tags, p.tags) {
		return nil
	}
	version := ""
	if have.Key != nil && have.Key.KID != nil {
		version = have.Key.KID.Version()
	}
	params := azkeys.UpdateKeyParameters{Tags: p.tags}
	if p.expires != nil {
		params.KeyAttributes = &azkeys.KeyAttributes{Expires: p.expires}
	}
	err := c.call("UpdateKey", func() error { _, e := c.keys.UpdateKey(ctx, name, version, params, nil); return e })
	return c.describe(err, key, typeKey, permUpdate)
}

// deleteKey soft-deletes a key Vigil created.
func (c *Client) deleteKey(ctx context.Context, ref providers.PushRef, name string) error {
	cur, err := c.currentKey(ctx, ref.Key, name)
	if err != nil || cur == nil {
		return err
	}
	if !isManaged(cur.Tags) {
		return providers.NotManaged(ref)
	}
	err = c.call("DeleteKey", func() error { _, e := c.keys.DeleteKey(ctx, name, nil); return e })
	if err = c.describe(err, ref.Key, typeKey, permDelete); errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return err
}
