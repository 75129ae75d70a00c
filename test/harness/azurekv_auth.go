package harness

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	azureLoginHost      = "login.microsoftonline.com"
	azureAuthority      = "https://" + azureLoginHost
	oauthInvalidRequest = "invalid_request"
	oauthInvalidClient  = "invalid_client"
	errorDescription    = "error_description"
	// azureVaultAudience is the resource of every vault's challenge (the public cloud's).
	azureVaultAudience = "https://vault.azure.net"
	// azureExchangeAudience is the audience Entra ID requires of federated ServiceAccount tokens.
	azureExchangeAudience = "api://AzureADTokenExchange"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// entraError answers as Entra ID's token endpoint does: the OAuth error, the description
// (starting with its AADSTS number) and the number in error_codes.
func entraError(w http.ResponseWriter, status int, code, description string) {
	out := map[string]any{errorField: code, errorDescription: description}
	if n, ok := strings.CutPrefix(description, "AADSTS"); ok {
		if num, err := strconv.Atoi(strings.SplitN(n, ":", 2)[0]); err == nil {
			out["error_codes"] = []int{num}
		}
	}
	writeJSON(w, status, out)
}

// serveEntra serves OpenID metadata, instance discovery and the v2.0 token endpoint.
func (a *AzureKV) serveEntra(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "common" && parts[1] == "discovery":
		a.record(r, "", http.StatusOK)
		writeJSON(w, http.StatusOK, map[string]any{
			"tenant_discovery_endpoint": azureAuthority + "/" + AzureTenant + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata": []map[string]any{{"preferred_network": azureLoginHost,
				"preferred_cache": "login.windows.net", "aliases": []string{azureLoginHost}}},
		})
	case len(parts) == 4 && parts[1] == "v2.0" && parts[3] == "openid-configuration":
		a.record(r, "", http.StatusOK)
		t := parts[0]
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":         azureAuthority + "/" + t + "/oauth2/v2.0/token",
			"authorization_endpoint": azureAuthority + "/" + t + "/oauth2/v2.0/authorize",
			"issuer":                 azureAuthority + "/" + t + "/v2.0",
		})
	case len(parts) == 4 && parts[1] == "oauth2" && parts[3] == "token" && r.Method == http.MethodPost:
		a.serveToken(w, r, parts[0])
	default:
		a.record(r, "", http.StatusNotFound)
		entraError(w, http.StatusNotFound, oauthInvalidRequest, "AADSTS90027: unknown endpoint")
	}
}

// serveToken issues client-credentials tokens.
func (a *AzureKV) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil {
		entraError(w, http.StatusBadRequest, oauthInvalidRequest, "AADSTS900144: malformed body")
		return
	}
	clientID := r.PostForm.Get("client_id")
	status, code, desc := a.checkClient(r, tenant, clientID)
	a.record(r, clientID, status)
	if status != http.StatusOK {
		entraError(w, status, code, desc)
		return
	}
	audience := ""
	for _, scope := range strings.Fields(r.PostForm.Get("scope")) { // with openid, profile, … as MSAL adds
		if a, ok := strings.CutSuffix(scope, "/.default"); ok {
			audience = a
		}
	}
	tok := a.issue(clientID, audience)
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
		"access_token": tok})
}

// checkClient authenticates a token request: status 200 or Entra ID's refusal.
func (a *AzureKV) checkClient(r *http.Request, tenant, clientID string) (int, string, string) {
	if tenant != AzureTenant {
		return http.StatusBadRequest, oauthInvalidRequest, "AADSTS90002: Tenant not found."
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		return http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: unsupported grant type"
	}
	a.mu.Lock()
	app, ok := a.apps[clientID]
	a.mu.Unlock()
	if !ok {
		return http.StatusBadRequest, "unauthorized_client",
			"AADSTS700016: Application not found in the directory."
	}
	assertion := r.PostForm.Get("client_assertion")
	switch {
	case app.secret != "":
		if r.PostForm.Get("client_secret") != app.secret {
			return http.StatusUnauthorized, oauthInvalidClient, "AADSTS7000215: Invalid client secret provided."
		}
	case app.cert != nil:
		if !a.certAssertionValid(assertion, app, clientID, tenant) {
			return http.StatusUnauthorized, oauthInvalidClient,
				"AADSTS700027: Client assertion failed signature validation."
		}
	case app.subject != "":
		if !federatedAssertionValid(assertion, app.subject) {
			return http.StatusBadRequest, oauthInvalidClient,
				"AADSTS70021: No matching federated identity record found for presented assertion."
		}
	default:
		return http.StatusUnauthorized, oauthInvalidClient, "AADSTS7000218: no client credentials"
	}
	return http.StatusOK, "", ""
}

// certAssertionValid verifies a client certificate assertion's signature against the
// registered certificate, and its issuer, subject and audience.
func (a *AzureKV) certAssertionValid(assertion string, app *azApp, clientID, tenant string) bool {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return app.cert.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256", "PS256", "ES256"}),
		jwt.WithAudience(azureAuthority+"/"+tenant+"/oauth2/v2.0/token"), jwt.WithIssuer(clientID), jwt.WithSubject(clientID))
	return err == nil
}

// federatedAssertionValid checks a ServiceAccount token's subject, audience and expiry. (Its
// signature is the API server's; the harness does not know that key.)
func federatedAssertionValid(assertion, subject string) bool {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(assertion, claims); err != nil {
		return false
	}
	sub, _ := claims.GetSubject()
	aud, _ := claims.GetAudience()
	exp, _ := claims.GetExpirationTime()
	return sub == subject && slices.Contains(aud, azureExchangeAudience) && exp != nil && exp.After(time.Now())
}

func (a *AzureKV) issue(clientID, audience string) string {
	tok := "vigil-test-" + newID()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[tok] = azToken{client: clientID, audience: audience, expires: time.Now().Add(time.Hour)}
	a.apps[clientID].tokenReqs++
	return tok
}

// serveIMDS is the instance metadata service's managed identity endpoint.
func (a *AzureKV) serveIMDS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	managed := a.managed
	a.mu.Unlock()
	if r.URL.Path != "/metadata/identity/oauth2/token" || r.Header.Get("Metadata") != "true" {
		a.record(r, "", http.StatusBadRequest)
		writeJSON(w, http.StatusBadRequest, map[string]any{errorField: oauthInvalidRequest,
			errorDescription: "Required metadata header not specified"})
		return
	}
	if managed == "" || (q.Get("client_id") != "" && q.Get("client_id") != managed) {
		a.record(r, q.Get("client_id"), http.StatusBadRequest)
		writeJSON(w, http.StatusBadRequest, map[string]any{errorField: oauthInvalidRequest,
			errorDescription: "Identity not found"})
		return
	}
	a.record(r, managed, http.StatusOK)
	resource := strings.TrimSuffix(q.Get("resource"), "/")
	tok := a.issue(managed, resource)
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "client_id": managed, "expires_in": "3599",
		"expires_on": exp, "ext_expires_in": "3599", "not_before": strconv.FormatInt(time.Now().Unix(), 10),
		"resource": resource, "token_type": "Bearer"})
}

// bearer returns the client of a request's valid token for the vault audience, or "".
func (a *AzureKV) bearer(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[tok]
	if !ok || time.Now().After(t.expires) || strings.TrimSuffix(t.audience, "/") != azureVaultAudience {
		return ""
	}
	return t.client
}
