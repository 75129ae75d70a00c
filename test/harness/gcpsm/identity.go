package gcpsm

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Keyless identities, as Google serves them: the Security Token Service (POST /v1/token,
// RFC 8693 token exchange) trades a Kubernetes ServiceAccount token for a federated access
// token when a workload identity pool trusts it (a GKE cluster's identity namespace, or a
// pool provider), and IAM Credentials (POST /v1/projects/-/serviceAccounts/<email>:
// generateAccessToken) trades a federated token for a Google service account's token when
// the principal holds roles/iam.workloadIdentityUser on that account. Refusals carry
// Google's codes: STS answers 400 with an OAuth error (invalid_target for an unknown
// audience, invalid_grant for a token the pool does not accept), IAM Credentials 401
// UNAUTHENTICATED or 403 PERMISSION_DENIED in Google's JSON error shape.

// KubeVerifier checks a Kubernetes ServiceAccount token as Google checks a trusted
// cluster's tokens: it returns the token's subject (system:serviceaccount:<ns>:<name>) when
// the token is valid and carries one of audiences.
type KubeVerifier func(ctx context.Context, token string, audiences []string) (subject string, err error)

// pool is what an STS audience is trusted for.
type pool struct {
	audiences []string                        // the subject token audiences accepted
	member    func(ns, sa, sub string) string // the federated principal of a subject
}

// TrustKubernetes sets how ServiceAccount tokens are checked (the cluster's issuer).
func (s *Server) TrustKubernetes(v KubeVerifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kube = v
}

// AddGKECluster enables GKE Workload Identity for a cluster: STS accepts its
// ServiceAccount tokens with the audience <project>.svc.id.goog for the audience
// identitynamespace:<project>.svc.id.goog:https://container.googleapis.com/v1/projects/
// <project>/locations/<location>/clusters/<name>, as the principal
// serviceAccount:<project>.svc.id.goog[<namespace>/<name>].
func (s *Server) AddGKECluster(project, location, name string) {
	s.AddProject(project)
	idns := project + ".svc.id.goog"
	aud := "identitynamespace:" + idns + ":https://container.googleapis.com/v1/projects/" + project +
		"/locations/" + location + "/clusters/" + name
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pools[aud] = pool{audiences: []string{idns}, member: func(ns, sa, _ string) string {
		return "serviceAccount:" + idns + "[" + ns + "/" + sa + "]"
	}}
}

// AddPoolProvider creates a workload identity pool provider of project that trusts the
// cluster's ServiceAccount tokens and returns its audience
// (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/
// providers/<provider>). Tokens must carry one of allowed, or, when none is given, the
// provider's default audience (https: and its audience). A token's principal is
// principal://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/
// <pool>/subject/<sub> (google.subject=assertion.sub).
func (s *Server) AddPoolProvider(project, poolID, provider string, allowed ...string) string {
	s.AddProject(project)
	s.mu.Lock()
	defer s.mu.Unlock()
	base := "//iam.googleapis.com/projects/" + s.projects[project] + "/locations/global/workloadIdentityPools/" + poolID
	aud := base + "/providers/" + provider
	if len(allowed) == 0 {
		allowed = []string{"https:" + aud}
	}
	s.pools[aud] = pool{audiences: slices.Clone(allowed), member: func(_, _, sub string) string {
		return "principal:" + base + "/subject/" + sub
	}}
	return aud
}

// Grant lets a federated principal (serviceAccount:<project>.svc.id.goog[<ns>/<name>],
// principal://...) use the secrets of projects, as a role binding on the project would.
func (s *Server) Grant(member string, projects ...string) {
	for _, p := range projects {
		s.AddProject(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants[member] == nil {
		s.grants[member] = map[string]bool{}
	}
	for _, p := range projects {
		s.grants[member][p] = true
	}
}

// AllowImpersonation grants member roles/iam.workloadIdentityUser on the service account
// email (one ServiceAccount made): member may get its tokens from IAM Credentials.
func (s *Server) AllowImpersonation(email, member string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.impersonators[email] == nil {
		s.impersonators[email] = map[string]bool{}
	}
	s.impersonators[email][member] = true
}

// Exchanges returns the subject token audiences of the STS exchanges that succeeded, in
// order (what the API server minted the tokens for).
func (s *Server) Exchanges() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.exchanges)
}

// sts is Google's Security Token Service token exchange.
func (s *Server) sts(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil ||
		r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" {
		oauthError(w, "unsupported_grant_type", "Invalid value for \"grant_type\".")
		return
	}
	f := r.PostForm
	if f.Get("requested_token_type") != "urn:ietf:params:oauth:token-type:access_token" ||
		f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt" {
		oauthError(w, "invalid_request", "Invalid value for \"subject_token_type\" or \"requested_token_type\".")
		return
	}
	s.mu.Lock()
	p, ok := s.pools[f.Get("audience")]
	verify := s.kube
	s.mu.Unlock()
	if !ok || verify == nil {
		oauthError(w, "invalid_target", "The target service indicated by the \"audience\" parameters is invalid. "+
			"This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
		return
	}
	sub, err := verify(r.Context(), f.Get("subject_token"), p.audiences)
	rest, isSA := strings.CutPrefix(sub, "system:serviceaccount:")
	ns, sa, _ := strings.Cut(rest, ":")
	if err != nil || !isSA {
		oauthError(w, "invalid_grant", "The audience in ID Token does not match the expected audience, or the "+
			"token is invalid.")
		return
	}
	access := newToken()
	s.mu.Lock()
	s.tokens[access] = p.member(ns, sa, sub)
	s.exchanges = append(s.exchanges, tokenAudiences(f.Get("subject_token")))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer",
		"expires_in": 3599})
}

// generateAccessToken is IAM Credentials' projects.serviceAccounts.generateAccessToken.
func (s *Server) generateAccessToken(w http.ResponseWriter, r *http.Request) {
	email, ok := strings.CutSuffix(r.PathValue("account"), ":generateAccessToken")
	if !ok || r.PathValue("project") != "-" {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
		return
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	member, known := s.tokens[bearer]
	allowed := s.impersonators[email][member] && s.accounts[email] != nil
	s.mu.Unlock()
	var body struct {
		Scope []string `json:"scope"`
	}
	switch {
	case !known:
		apiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. "+
			"Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	case !allowed:
		apiError(w, http.StatusForbidden, "PERMISSION_DENIED",
			"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
		return
	case json.NewDecoder(r.Body).Decode(&body) != nil || !slices.Contains(body.Scope, cloudPlatform):
		apiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Request contains an invalid argument.")
		return
	}
	access := newToken()
	s.mu.Lock()
	s.tokens[access] = email
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"accessToken": access,
		"expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
}

const cloudPlatform = "https://www.googleapis.com/auth/cloud-platform"

// apiError answers in the JSON error shape of Google's REST APIs.
func apiError(w http.ResponseWriter, code int, status, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": message, "status": status}})
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "ya29.harness-" + base64.RawURLEncoding.EncodeToString(b)
}

// tokenAudiences reads a JWT's aud claim (a string or a list) without verifying it.
func tokenAudiences(jwt string) []string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	var c struct {
		Aud json.RawMessage `json:"aud"`
	}
	if decode(parts[1], &c) != nil {
		return nil
	}
	var list []string
	if json.Unmarshal(c.Aud, &list) == nil {
		return list
	}
	var one string
	_ = json.Unmarshal(c.Aud, &one)
	return []string{one}
}
