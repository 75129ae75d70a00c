package v1

import apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

// OtherProviders are the ESO providers Vigil does not implement (docs/providers.md). Their
// configuration is accepted as a free-form object, so that an ESO manifest applies
// unchanged, and a store using one of them is not Ready with a message naming the provider:
// nothing is ever silently ignored.
//
// Alibaba and Device42 left ESO's API after ESO 0.16 (they are in its v1beta1 schema only);
// Vigil keeps them on both versions so that manifests written for those releases apply.
type OtherProviders struct {
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Alibaba *apiextensionsv1.JSON `json:"alibaba,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Device42 *apiextensionsv1.JSON `json:"device42,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Akeyless *apiextensionsv1.JSON `json:"akeyless,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Barbican *apiextensionsv1.JSON `json:"barbican,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	BeyondTrust *apiextensionsv1.JSON `json:"beyondtrust,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	BeyondTrustWorkloadCredentials *apiextensionsv1.JSON `json:"beyondtrustworkloadcredentials,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	BitwardenSecretsManager *apiextensionsv1.JSON `json:"bitwardensecretsmanager,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Chef *apiextensionsv1.JSON `json:"chef,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	CloudruSM *apiextensionsv1.JSON `json:"cloudrusm,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Conjur *apiextensionsv1.JSON `json:"conjur,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	CRD *apiextensionsv1.JSON `json:"crd,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Delinea *apiextensionsv1.JSON `json:"delinea,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Doppler *apiextensionsv1.JSON `json:"doppler,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	DVLS *apiextensionsv1.JSON `json:"dvls,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Fortanix *apiextensionsv1.JSON `json:"fortanix,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Github *apiextensionsv1.JSON `json:"github,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Gitlab *apiextensionsv1.JSON `json:"gitlab,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	IBM *apiextensionsv1.JSON `json:"ibm,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Infisical *apiextensionsv1.JSON `json:"infisical,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	KeeperSecurity *apiextensionsv1.JSON `json:"keepersecurity,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	NebiusMysterybox *apiextensionsv1.JSON `json:"nebiusmysterybox,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Ngrok *apiextensionsv1.JSON `json:"ngrok,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Onboardbase *apiextensionsv1.JSON `json:"onboardbase,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	OnePassword *apiextensionsv1.JSON `json:"onepassword,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	OnePasswordSDK *apiextensionsv1.JSON `json:"onepasswordSDK,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	OpenBao *apiextensionsv1.JSON `json:"openBao,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Oracle *apiextensionsv1.JSON `json:"oracle,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	OVH *apiextensionsv1.JSON `json:"ovh,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Passbolt *apiextensionsv1.JSON `json:"passbolt,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	PasswordDepot *apiextensionsv1.JSON `json:"passworddepot,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Previder *apiextensionsv1.JSON `json:"previder,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Pulumi *apiextensionsv1.JSON `json:"pulumi,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Scaleway *apiextensionsv1.JSON `json:"scaleway,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	SecretServer *apiextensionsv1.JSON `json:"secretserver,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Senhasegura *apiextensionsv1.JSON `json:"senhasegura,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Volcengine *apiextensionsv1.JSON `json:"volcengine,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Webhook *apiextensionsv1.JSON `json:"webhook,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	YandexCertificateManager *apiextensionsv1.JSON `json:"yandexcertificatemanager,omitempty"`
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	YandexLockbox *apiextensionsv1.JSON `json:"yandexlockbox,omitempty"`
}

// set returns the names of the configured providers.
func (o *OtherProviders) set() []string {
	var names []string
	for name, cfg := range map[string]*apiextensionsv1.JSON{
		"akeyless":                       o.Akeyless,
		"alibaba":                        o.Alibaba,
		"device42":                       o.Device42,
		"barbican":                       o.Barbican,
		"beyondtrust":                    o.BeyondTrust,
		"beyondtrustworkloadcredentials": o.BeyondTrustWorkloadCredentials,
		"bitwardensecretsmanager":        o.BitwardenSecretsManager,
		"chef":                           o.Chef,
		"cloudrusm":                      o.CloudruSM,
		"conjur":                         o.Conjur,
		"crd":                            o.CRD,
		"delinea":                        o.Delinea,
		"doppler":                        o.Doppler,
		"dvls":                           o.DVLS,
		"fortanix":                       o.Fortanix,
		"github":                         o.Github,
		"gitlab":                         o.Gitlab,
		"ibm":                            o.IBM,
		"infisical":                      o.Infisical,
		"keepersecurity":                 o.KeeperSecurity,
		"nebiusmysterybox":               o.NebiusMysterybox,
		"ngrok":                          o.Ngrok,
		"onboardbase":                    o.Onboardbase,
		"onepassword":                    o.OnePassword,
		"onepasswordSDK":                 o.OnePasswordSDK,
		"openBao":                        o.OpenBao,
		"oracle":                         o.Oracle,
		"ovh":                            o.OVH,
		"passbolt":                       o.Passbolt,
		"passworddepot":                  o.PasswordDepot,
		"previder":                       o.Previder,
		"pulumi":                         o.Pulumi,
		"scaleway":                       o.Scaleway,
		"secretserver":                   o.SecretServer,
		"senhasegura":                    o.Senhasegura,
		"volcengine":                     o.Volcengine,
		"webhook":                        o.Webhook,
		"yandexcertificatemanager":       o.YandexCertificateManager,
		"yandexlockbox":                  o.YandexLockbox,
	} {
		if cfg != nil {
			names = append(names, name)
		}
	}
	return names
}
