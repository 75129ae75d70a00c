package gcpsm

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"time"
)

// ServiceAccount creates a service account that may use the given projects and returns
// its key file, as the Cloud console downloads it (type service_account), with token_uri
// pointing at this server's token endpoint.
func (s *Server) ServiceAccount(email string, projects ...string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 20)
	_, _ = rand.Read(id)
	a := &account{key: &key.PublicKey, keyID: hex.EncodeToString(id), projects: map[string]bool{}}
	s.mu.Lock()
	for _, p := range projects {
		a.projects[p] = true
	}
	s.accounts[email] = a
	s.mu.Unlock()
	for _, p := range projects {
		s.AddProject(p)
	}
	project := ""
	if len(projects) > 0 {
		project = projects[0]
	}
	return json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": a.keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1" + hex.EncodeToString(id[:8]),
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": s.TokenURL,
	})
}

// token is the OAuth 2.0 token endpoint for the JWT bearer grant (RFC 7523) that
// service-account keys use: the assertion must be signed by the account's key, be meant
// for this endpoint and not be expired. Refusals answer 400 invalid_grant as Google does.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, "unsupported_grant_type", "Invalid grant_type.")
		return
	}
	email, refusal := s.verify(r.PostForm.Get("assertion"))
	if refusal != "" {
		oauthError(w, "invalid_grant", refusal)
		return
	}
	access := newToken()
	s.mu.Lock()
	s.tokens[access] = email
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3599})
}

func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// verify checks an RS256 JWT assertion and returns the service account it is for, else
// the refusal's description, as Google words it.
func (s *Server) verify(assertion string) (email, refusal string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "", "Invalid JWT."
	}
	var head struct{ Alg, Kid string }
	var claims struct {
		Iss, Aud, Scope string
		Exp, Iat        int64
	}
	if decode(parts[0], &head) != nil || decode(parts[1], &claims) != nil || head.Alg != "RS256" {
		return "", "Invalid JWT."
	}
	s.mu.Lock()
	a := s.accounts[claims.Iss]
	s.mu.Unlock()
	if a == nil {
		return "", "Invalid grant: account not found"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", "Invalid JWT Signature."
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(a.key, crypto.SHA256, sum[:], sig) != nil {
		return "", "Invalid JWT Signature."
	}
	now := time.Now().Unix()
	switch {
	case claims.Aud != s.TokenURL:
		return "", "Invalid JWT: audience is not this token endpoint."
	case claims.Exp < now || claims.Iat > now+60:
		return "", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
	case !strings.Contains(claims.Scope, "https://www.googleapis.com/auth/cloud-platform"):
		return "", "Invalid JWT: no scope for Secret Manager."
	}
	return claims.Iss, ""
}

func decode(part string, into any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}
