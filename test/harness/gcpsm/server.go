// Package gcpsm is a local Google Cloud Secret Manager for tests. Google ships no emulator
// of Secret Manager, so this server implements the service from its official gRPC
// definitions (cloud.google.com/go/secretmanager/apiv1/secretmanagerpb) with the service's
// resource names, answers and gRPC status codes (NotFound, AlreadyExists, PermissionDenied,
// FailedPrecondition for a disabled or destroyed version, InvalidArgument, Unauthenticated),
// and Google's OAuth 2.0 token endpoint for service-account keys: a client signs a JWT with
// the key's private key, the endpoint checks it against the key's public half and hands out
// an access token, and every gRPC call must carry one. Keyless identities go through its
// Security Token Service and IAM Credentials endpoints (identity.go). It serves TLS only, as Google does,
// with a certificate of its own CA (RootCAs).
package gcpsm

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"

	smpb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Server is a running Secret Manager with its token endpoint.
type Server struct {
	smpb.UnimplementedSecretManagerServiceServer

	// Addr is the host:port of the gRPC service (a client's endpoint option).
	Addr string
	// TokenURL is the OAuth 2.0 token endpoint, the token_uri of the keys it issues.
	TokenURL string
	// STSURL is the Security Token Service's token exchange (identity.go).
	STSURL string
	// IAMCredentialsURL is the prefix of IAM Credentials' generateAccessToken URLs.
	IAMCredentialsURL string
	// RootCAs trusts the server's certificate.
	RootCAs *x509.CertPool

	http *http.Server
	grpc *grpc.Server

	mu       sync.Mutex
	projects map[string]string // project id -> project number
	accounts map[string]*account
	tokens   map[string]string // access token -> service account email or federated principal
	secrets  map[string]*secret
	calls    map[string]int
	nextID   int

	kube          KubeVerifier
	pools         map[string]pool            // STS audience -> what it trusts
	grants        map[string]map[string]bool // federated principal -> projects
	impersonators map[string]map[string]bool // service account email -> principals
	exchanges     [][]string
}

type account struct {
	key      *rsa.PublicKey
	keyID    string
	projects map[string]bool
}

// Start runs a server on a free loopback port until Close.
func Start() (*Server, error) {
	cert, roots, err := selfSigned()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Addr: ln.Addr().String(), RootCAs: roots,
		projects: map[string]string{}, accounts: map[string]*account{}, tokens: map[string]string{},
		secrets: map[string]*secret{}, calls: map[string]int{},
		pools: map[string]pool{}, grants: map[string]map[string]bool{}, impersonators: map[string]map[string]bool{},
	}
	s.TokenURL = "https://" + s.Addr + "/token"
	s.STSURL = "https://" + s.Addr + "/v1/token"
	s.IAMCredentialsURL = "https://" + s.Addr + "/v1/projects/-/serviceAccounts/"
	s.grpc = grpc.NewServer(grpc.UnaryInterceptor(s.authenticate))
	smpb.RegisterSecretManagerServiceServer(s.grpc, s)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/token", s.sts)
	mux.HandleFunc("POST /v1/projects/{project}/serviceAccounts/{account}", s.generateAccessToken)
	s.http = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// gRPC and the token endpoint share the port, as both are https on Google's side.
			if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				s.grpc.ServeHTTP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"},
			MinVersion: tls.VersionTLS12},
	}
	go func() { _ = s.http.ServeTLS(ln, "", "") }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	_ = s.http.Close()
}

// Calls returns how many times a method (e.g. "AddSecretVersion") was called successfully.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// AddProject makes a project known: its secrets are named by its number in answers, as
// Google names them, and requests may use the id or the number.
func (s *Server) AddProject(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.projects[id]; !ok {
		s.nextID++
		s.projects[id] = number(s.nextID)
	}
}

// authenticate checks the bearer token of every call, as Google's front end does.
func (s *Server) authenticate(ctx context.Context, req any, info *grpc.UnaryServerInfo,
	handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := md.Get("authorization")
	if len(auth) == 0 {
		return nil, status.Error(codes.Unauthenticated,
			"Request is missing required authentication credential. Expected OAuth 2 access token.")
	}
	token, ok := strings.CutPrefix(auth[0], "Bearer ")
	s.mu.Lock()
	email, known := s.tokens[token]
	s.mu.Unlock()
	if !ok || !known {
		return nil, status.Error(codes.Unauthenticated, "Request had invalid authentication credentials.")
	}
	resp, err := handler(context.WithValue(ctx, callerKey{}, email), req)
	if err == nil {
		method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
		s.mu.Lock()
		s.calls[method]++
		s.mu.Unlock()
	}
	return resp, err
}

type callerKey struct{}

// allowed checks that the caller may use project (held under s.mu): PermissionDenied
// otherwise, worded as Google words it (which does not say whether the resource exists).
func (s *Server) allowed(ctx context.Context, permission, resource, project string) error {
	email, _ := ctx.Value(callerKey{}).(string)
	if a := s.accounts[email]; a != nil && a.projects[project] || s.grants[email][project] {
		return nil
	}
	return status.Errorf(codes.PermissionDenied,
		"Permission '%s' denied for resource '%s' (or it may not exist).", permission, resource)
}

var errUnknownProject = errors.New("unknown project")

// projectID resolves a project id or number (held under s.mu).
func (s *Server) projectID(p string) (string, error) {
	if _, ok := s.projects[p]; ok {
		return p, nil
	}
	for id, n := range s.projects {
		if n == p {
			return id, nil
		}
	}
	return "", errUnknownProject
}
