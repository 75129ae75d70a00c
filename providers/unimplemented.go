package providers

import (
	"fmt"
	"strings"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Vigil serves every field of ESO's store API so that ESO manifests apply unchanged, but
// implements only some providers and options. A store that uses one of the others must not
// look usable with the option silently ignored: Unimplemented names what is missing, and
// ForStore refuses the store with it (Ready=False, InvalidProviderConfig), which every
// ExternalSecret using the store reports too.

// providersDoc is where a user reads what is implemented.
const providersDoc = "see docs/providers.md"

// Unimplemented returns a ConfigError naming the first provider or field of the store's
// provider configuration that Vigil accepts but does not implement, or nil.
func Unimplemented(p *esv1.SecretStoreProvider) error {
	if p == nil {
		return nil
	}
	var fields []string
	switch name := p.Name(); name {
	case "aws":
		fields = awsUnimplemented(p.AWS)
	case "vault":
		fields = VaultUnimplemented(p.Vault)
	case "kubernetes":
		fields = kubernetesUnimplemented(p.Kubernetes)
	case "gcpsm":
		fields = gcpsmUnimplemented(p.GCPSM)
	case "fake", "azurekv", "":
	default:
		return Configf("provider %s is not implemented by Vigil yet; %s", name, providersDoc)
	}
	if len(fields) == 0 {
		return nil
	}
	return Configf("%s: not implemented by Vigil yet (%s); remove %s or use ESO for this store",
		strings.Join(fields, ", "), providersDoc, plural(fields))
}

func plural(fields []string) string {
	if len(fields) == 1 {
		return "it"
	}
	return "them"
}

func awsUnimplemented(a *esv1.AWSProvider) []string {
	var out []string
	add := func(set bool, field string) {
		if set {
			out = append(out, "spec.provider.aws."+field)
		}
	}
	add(a.Service == esv1.AWSServiceCertificateManager, "service CertificateManager")
	add(len(a.AdditionalRoles) > 0, "additionalRoles")
	add(len(a.SessionTags) > 0, "sessionTags")
	add(len(a.TransitiveTagKeys) > 0, "transitiveTagKeys")
	add(a.SessionTagsPolicy != "" && a.SessionTagsPolicy != "None", "sessionTagsPolicy "+string(a.SessionTagsPolicy))
	add(len(a.CustomSessionTags) > 0, "customSessionTags")
	// secretsManager only configures writes and deletes (PushSecret), which Vigil does not do:
	// accepting it changes nothing a read does.
	return out
}

// VaultUnimplemented lists the Vault options Vigil accepts but does not implement; the
// VaultDynamicSecret generator uses it too.
func VaultUnimplemented(v *esv1.VaultProvider) []string {
	if v == nil {
		return nil
	}
	var out []string
	add := func(set bool, field string) {
		if set {
			out = append(out, "spec.provider.vault."+field)
		}
	}
	add(v.ReadYourWrites, "readYourWrites")
	add(v.ForwardInconsistent, "forwardInconsistent")
	add(len(v.Headers) > 0, "headers")
	if a := v.Auth; a != nil {
		add(a.Namespace != nil, "auth.namespace")
		add(a.GCP != nil, "auth.gcp")
	}
	return out
}

func kubernetesUnimplemented(k *esv1.KubernetesProvider) []string {
	var out []string
	add := func(set bool, field string) {
		if set {
			out = append(out, fmt.Sprintf("spec.provider.kubernetes.%s", field))
		}
	}
	add(k.Server.CAProvider != nil, "server.caProvider")
	add(k.AuthRef != nil, "authRef")
	add(k.Auth != nil && k.Auth.Cert != nil, "auth.cert")
	return out
}

// gcpsmUnimplemented lists the federation's subject token sources other than
// serviceAccountRef: a credential configuration runs files, URLs or programs it names.
func gcpsmUnimplemented(g *esv1.GCPSMProvider) []string {
	var out []string
	if f := g.Auth.WorkloadIdentityFederation; f != nil {
		const field = "spec.provider.gcpsm.auth.workloadIdentityFederation."
		if f.CredConfig != nil {
			out = append(out, field+"credConfig")
		}
		if f.ExternalTokenEndpoint != "" {
			out = append(out, field+"externalTokenEndpoint")
		}
		if f.AwsSecurityCredentials != nil {
			out = append(out, field+"awsSecurityCredentials")
		}
	}
	return out
}
