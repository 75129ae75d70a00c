package generators

import (
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"

	"github.com/sethvargo/go-password/password"
	"sigs.k8s.io/controller-runtime/pkg/client"

	genv1alpha1 "github.com/vigil-dev/vigil/api/generators/v1alpha1"
	"github.com/vigil-dev/vigil/providers"
)

// defaultSymbols are ESO's default symbol characters.
const defaultSymbols = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./"

// Password generates random passwords with sethvargo/go-password (what ESO uses), with ESO's
// defaults: 25 % digits and 25 % symbols.
type Password struct{}

// Kind implements providers.Generator.
func (Password) Kind() string { return passwordKind }

// Generate implements providers.Generator.
func (Password) Generate(ctx context.Context, kube client.Client, namespace, name string) (map[string][]byte, error) {
	var p genv1alpha1.Password
	if err := get(ctx, kube, "Password", namespace, name, &p); err != nil {
		return nil, err
	}
	return Password{}.FromSpec(p.Spec)
}

// FromSpec generates what a Password with spec generates (also for a ClusterGenerator).
func (Password) FromSpec(spec genv1alpha1.PasswordSpec) (map[string][]byte, error) {
	keys := spec.SecretKeys
	if len(keys) == 0 {
		keys = []string{"password"}
	}
	out := make(map[string][]byte, len(keys))
	for _, k := range keys { // ESO: one independent password per key
		v, err := GeneratePassword(spec)
		if err != nil {
			return nil, err
		}
		out[k] = encodePassword(v, spec.Encoding)
	}
	return out, nil
}

// encodePassword applies spec.encoding (ESO's values; raw when unset).
func encodePassword(v string, encoding *string) []byte {
	enc := "raw"
	if encoding != nil {
		enc = *encoding
	}
	switch enc {
	case "base64":
		return []byte(base64.StdEncoding.EncodeToString([]byte(v)))
	case "base64url":
		return []byte(base64.URLEncoding.EncodeToString([]byte(v)))
	case "base32":
		return []byte(base32.StdEncoding.EncodeToString([]byte(v)))
	case "hex":
		return []byte(hex.EncodeToString([]byte(v)))
	}
	return []byte(v)
}

// GeneratePassword returns a password as spec asks.
func GeneratePassword(spec genv1alpha1.PasswordSpec) (string, error) {
	length := spec.Length
	if length == 0 {
		length = 24
	}
	digits, symbols := length/4, length/4
	if spec.Digits != nil {
		digits = *spec.Digits
	}
	if spec.Symbols != nil {
		symbols = *spec.Symbols
	}
	// ESO's schema accepts these; refuse them here with the fix (the webhook warns too).
	if length < 0 || digits < 0 || symbols < 0 {
		return "", providers.Configf("Password: length, digits and symbols must not be negative")
	}
	chars := defaultSymbols
	if spec.SymbolCharacters != nil {
		chars = *spec.SymbolCharacters
	}
	g, err := password.NewGenerator(&password.GeneratorInput{Symbols: chars})
	if err != nil {
		return "", providers.Configf("Password: %v", err)
	}
	v, err := g.Generate(length, digits, symbols, spec.NoUpper, spec.AllowRepeat)
	if err != nil {
		// go-password explains: too many digits or symbols for the length, or not enough
		// distinct characters without allowRepeat.
		return "", providers.Configf("Password: %v", err)
	}
	return v, nil
}
