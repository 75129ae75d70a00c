package harness

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// TokenClaims are the claims of a ServiceAccount token (a JWT) that tests check: who it was
// minted for and for which audiences.
type TokenClaims struct {
	Sub string   `json:"sub"`
	Aud []string `json:"aud"`
}

// DecodeToken reads the claims of a JWT without verifying its signature: tests use it on
// tokens a fake or real backend received, to see what the API server minted them for.
func DecodeToken(token string) (TokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return TokenClaims{}, fmt.Errorf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return TokenClaims{}, fmt.Errorf("JWT payload: %w", err)
	}
	var c TokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return TokenClaims{}, fmt.Errorf("JWT claims: %w", err)
	}
	return c, nil
}

// TokenAudiences returns the aud claim of a JWT (see DecodeToken).
func TokenAudiences(token string) ([]string, error) {
	c, err := DecodeToken(token)
	return c.Aud, err
}
