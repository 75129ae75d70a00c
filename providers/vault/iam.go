package vault

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	vaultapi "github.com/hashicorp/vault/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/providers"
	awsprovider "github.com/vigil-dev/vigil/providers/aws"
)

// The aws auth method's defaults (ESO's).
const (
	defaultIAMRegion = "us-east-1"
	defaultIAMMount  = "aws"
	// iamServerIDHeader is signed into the request when vaultAwsIamServerID is set: Vault
	// compares it with its iam_server_id_header_value, so a signed request made for one
	// Vault cannot be replayed to another.
	iamServerIDHeader = "X-Vault-AWS-IAM-Server-ID"
	getCallerIdentity = "Action=GetCallerIdentity&Version=2011-06-15"
)

// iamLogin logs in to Vault's aws auth method (iam type): it signs an STS
// GetCallerIdentity request with the store's AWS credentials and hands the signed request to
// Vault, which sends it to STS and learns who signed it. The AWS credentials are found the
// way the aws provider finds them (secretRef, jwt.serviceAccountRef through IRSA, role with
// externalID assumed on top; without secretRef and jwt, the controller's own identity, as in
// ESO), so the same rules and session names apply.
func iamLogin(ctx context.Context, store esv1.GenericStore, kube client.Client, namespace string,
	i *esv1.VaultIamAuth, aws *awsprovider.Provider) (loginFn, error) {
	region := orDefault(i.Region, defaultIAMRegion)
	cfg, err := aws.Config(ctx, awsStore(store, i, region), kube, namespace)
	if err != nil {
		return nil, fmt.Errorf("spec.provider.vault.auth.iam: %w", err)
	}
	path := loginPath(i.Path, defaultIAMMount, "")
	return func(ctx context.Context, api *vaultapi.Client) (string, error) {
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return "", fmt.Errorf("spec.provider.vault.auth.iam: getting AWS credentials: %w",
				awsprovider.ServiceError("AWS", "sts", "AssumeRole", err))
		}
		body, err := signedCallerIdentity(ctx, creds, region, i.VaultAWSIAMServerID)
		if err != nil {
			return "", err
		}
		body["role"] = i.Role
		return login(ctx, api, path, body)
	}, nil
}

// awsStore is the store seen as an aws provider store: the same kind, namespace and UID
// (credential references resolve as for the Vault store), with the iam fields.
func awsStore(store esv1.GenericStore, i *esv1.VaultIamAuth, region string) esv1.GenericStore {
	s := store.DeepCopyObject().(esv1.GenericStore)
	p := &esv1.AWSProvider{Service: esv1.AWSServiceSecretsManager, Region: region, Role: i.AWSIAMRole,
		ExternalID: i.ExternalID}
	if r := i.SecretRef; r != nil {
		p.Auth.SecretRef = &esv1.AWSAuthSecretRef{AccessKeyID: r.AccessKeyID, SecretAccessKey: r.SecretAccessKey,
			SessionToken: r.SessionToken}
	} else if i.JWTAuth != nil && i.JWTAuth.ServiceAccountRef != nil {
		p.Auth.JWTAuth = &esv1.AWSJWTAuth{ServiceAccountRef: i.JWTAuth.ServiceAccountRef}
	}
	s.GetSpec().Provider = &esv1.SecretStoreProvider{AWS: p}
	return s
}

// signedCallerIdentity returns the login fields of Vault's iam method: the method, URL,
// body and headers of a signed sts:GetCallerIdentity request, base64-encoded. The
// signature is a credential: the fields go to Vault only.
func signedCallerIdentity(ctx context.Context, creds aws.Credentials, region, serverID string) (map[string]any, error) {
	endpoint := "https://sts.amazonaws.com/" // the global endpoint signs for us-east-1
	if region != defaultIAMRegion {
		endpoint = "https://sts." + region + ".amazonaws.com/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(getCallerIdentity))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if serverID != "" {
		req.Header.Set(iamServerIDHeader, serverID)
	}
	sum := sha256.Sum256([]byte(getCallerIdentity))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sts", region, time.Now()); err != nil {
		return nil, providers.Configf("spec.provider.vault.auth.iam: signing the GetCallerIdentity request failed")
	}
	headers, err := json.Marshal(req.Header)
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString
	return map[string]any{
		"iam_http_request_method": http.MethodPost,
		"iam_request_url":         enc([]byte(endpoint)),
		"iam_request_body":        enc([]byte(getCallerIdentity)),
		"iam_request_headers":     enc(headers),
	}, nil
}
