package vault

import (
	"net/http"
	"testing"
)

// The controller's environment must not reach a tenant's store: a client certificate or
// VAULT_SKIP_VERIFY set for the controller would otherwise apply to every store.
func TestStoreConfigIgnoresTheControllersEnvironment(t *testing.T) {
	t.Setenv("VAULT_SKIP_VERIFY", "true")
	t.Setenv("VAULT_TLS_SERVER_NAME", "attacker.example")
	t.Setenv("VAULT_AGENT_ADDR", "http://127.0.0.1:1")
	t.Setenv("VAULT_RATE_LIMIT", "1")
	t.Setenv("VAULT_MAX_RETRIES", "50")
	cfg, err := storeConfig()
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.HttpClient.Transport.(*http.Transport).TLSClientConfig
	if tc.InsecureSkipVerify || tc.ServerName != "" || tc.GetClientCertificate != nil || len(tc.Certificates) > 0 || tc.RootCAs != nil {
		t.Errorf("TLS configuration took the environment: skipVerify=%v serverName=%q clientCert=%v", tc.InsecureSkipVerify, tc.ServerName, tc.GetClientCertificate != nil)
	}
	if cfg.AgentAddress != "" || cfg.Limiter != nil || cfg.MaxRetries != 2 {
		t.Errorf("client configuration took the environment: agent=%q limiter=%v maxRetries=%d", cfg.AgentAddress, cfg.Limiter != nil, cfg.MaxRetries)
	}
}
