package v1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExternalSecretCreationPolicy says who owns the target Secret.
// +kubebuilder:validation:Enum=Owner;Orphan;Merge;None;CreateOrMerge
type ExternalSecretCreationPolicy string

const (
	// CreatePolicyOwner creates the Secret and sets the ExternalSecret as its controller owner,
	// so that deleting the ExternalSecret deletes the Secret.
	CreatePolicyOwner ExternalSecretCreationPolicy = "Owner"
	// CreatePolicyOrphan creates the Secret without an owner.
	CreatePolicyOrphan ExternalSecretCreationPolicy = "Orphan"
	// CreatePolicyMerge merges the data into a Secret that must already exist.
	CreatePolicyMerge ExternalSecretCreationPolicy = "Merge"
	// CreatePolicyNone writes no Secret; the ExternalSecret only checks the remote data.
	CreatePolicyNone ExternalSecretCreationPolicy = "None"
)

// ExternalSecretDeletionPolicy says what happens to the Secret when the remote data is gone.
// +kubebuilder:validation:Enum=Delete;Merge;Retain
type ExternalSecretDeletionPolicy string

const (
	// DeletionPolicyDelete drops keys whose remote data is gone and deletes the Secret when
	// nothing is left.
	DeletionPolicyDelete ExternalSecretDeletionPolicy = "Delete"
	// DeletionPolicyMerge drops keys whose remote data is gone but never deletes the Secret.
	DeletionPolicyMerge ExternalSecretDeletionPolicy = "Merge"
	// DeletionPolicyRetain keeps the Secret as it is and reports an error.
	DeletionPolicyRetain ExternalSecretDeletionPolicy = "Retain"
)

// ExternalSecretRefreshPolicy says when the remote data is read again.
// +kubebuilder:validation:Enum=CreatedOnce;Periodic;OnChange
type ExternalSecretRefreshPolicy string

const (
	RefreshPolicyCreatedOnce ExternalSecretRefreshPolicy = "CreatedOnce"
	RefreshPolicyPeriodic    ExternalSecretRefreshPolicy = "Periodic"
	RefreshPolicyOnChange    ExternalSecretRefreshPolicy = "OnChange"
)

// ExternalSecretConversionStrategy converts remote keys into valid Secret keys.
// +kubebuilder:validation:Enum=Default;Unicode
type ExternalSecretConversionStrategy string

const (
	ConversionStrategyDefault ExternalSecretConversionStrategy = "Default"
	ConversionStrategyUnicode ExternalSecretConversionStrategy = "Unicode"
)

// ExternalSecretDecodingStrategy decodes remote values before they are stored.
// +kubebuilder:validation:Enum=Auto;Base64;Base64URL;None
type ExternalSecretDecodingStrategy string

const (
	DecodingStrategyAuto      ExternalSecretDecodingStrategy = "Auto"
	DecodingStrategyBase64    ExternalSecretDecodingStrategy = "Base64"
	DecodingStrategyBase64URL ExternalSecretDecodingStrategy = "Base64URL"
	DecodingStrategyNone      ExternalSecretDecodingStrategy = "None"
)

// ExternalSecretMetadataPolicy says whether a remote secret's metadata (tags) is read.
// +kubebuilder:validation:Enum=None;Fetch
type ExternalSecretMetadataPolicy string

const (
	MetadataPolicyNone  ExternalSecretMetadataPolicy = "None"
	MetadataPolicyFetch ExternalSecretMetadataPolicy = "Fetch"
)

// SecretStoreRef names the store an ExternalSecret reads from.
type SecretStoreRef struct {
	// Name of the store.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`
	// Kind of the store: SecretStore (same namespace) or ClusterSecretStore.
	// +kubebuilder:validation:Enum=SecretStore;ClusterSecretStore
	// +kubebuilder:default=SecretStore
	// +optional
	Kind string `json:"kind,omitempty"`
}

// ExternalSecretTarget describes the Secret that Vigil writes.
// ESO's CRD accepts every combination of creationPolicy and deletionPolicy (ESO's webhook
// refuses two); Vigil's webhook warns about them and the controller refuses them at sync
// (controllers/externalsecret/conflicts.go), so the manifest still applies.
type ExternalSecretTarget struct {
	// Name of the Secret; defaults to the ExternalSecret's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Name string `json:"name,omitempty"`
	// CreationPolicy says who owns the Secret.
	// +kubebuilder:default=Owner
	// +optional
	CreationPolicy ExternalSecretCreationPolicy `json:"creationPolicy,omitempty"`
	// DeletionPolicy says what happens when the remote data is gone.
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy ExternalSecretDeletionPolicy `json:"deletionPolicy,omitempty"`
	// Template shapes the Secret (type, metadata, data built from the remote values).
	// +optional
	Template *ExternalSecretTemplate `json:"template,omitempty"`
	// Immutable makes the Secret immutable once written.
	// +optional
	Immutable bool `json:"immutable,omitempty"`
	// Manifest writes another kind than Secret (ESO's field). Not implemented by Vigil: an
	// ExternalSecret that sets it fails with SecretSyncedError naming the field.
	// +optional
	Manifest *ManifestReference `json:"manifest,omitempty"`
}

// ManifestReference names the kind target.manifest writes.
type ManifestReference struct {
	// +kubebuilder:validation:MinLength:=1
	APIVersion string `json:"apiVersion"`
	// +kubebuilder:validation:MinLength:=1
	Kind string `json:"kind"`
}

// TemplateEngineVersion names the template engine.
// +kubebuilder:validation:Enum=v2
type TemplateEngineVersion string

// TemplateMergePolicy says whether templated data replaces or joins the fetched data.
// +kubebuilder:validation:Enum=Replace;Merge
type TemplateMergePolicy string

// Template merge policies (ESO's names).
const (
	MergePolicyReplace TemplateMergePolicy = "Replace"
	MergePolicyMerge   TemplateMergePolicy = "Merge"
)

// Targets of a templateFrom entry (ESO's names).
const (
	TemplateTargetData        = "Data"
	TemplateTargetAnnotations = "Annotations"
	TemplateTargetLabels      = "Labels"
)

// How a templateFrom item is read (templateAs, ESO's names): its whole text as one
// template (Values), or "key: value" lines whose both sides are templates (KeysAndValues).
const (
	TemplateScopeValues        = "Values"
	TemplateScopeKeysAndValues = "KeysAndValues"
)

// ExternalSecretTemplate shapes the target Secret.
type ExternalSecretTemplate struct {
	// Type of the Secret, e.g. kubernetes.io/dockerconfigjson.
	// +optional
	Type corev1.SecretType `json:"type,omitempty"`
	// EngineVersion of the template engine.
	// +kubebuilder:default=v2
	// +optional
	EngineVersion TemplateEngineVersion `json:"engineVersion,omitempty"`
	// Metadata added to the Secret.
	// +optional
	Metadata ExternalSecretTemplateMetadata `json:"metadata,omitempty"`
	// MergePolicy of templated and fetched data.
	// +kubebuilder:default=Replace
	// +optional
	MergePolicy TemplateMergePolicy `json:"mergePolicy,omitempty"`
	// Data maps Secret keys to templates over the fetched values.
	// +optional
	Data map[string]string `json:"data,omitempty"`
	// TemplateFrom reads templates from ConfigMaps or Secrets.
	// +optional
	TemplateFrom []TemplateFrom `json:"templateFrom,omitempty"`
}

// ExternalSecretTemplateMetadata is the metadata a template adds to the Secret.
type ExternalSecretTemplateMetadata struct {
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Finalizers []string `json:"finalizers,omitempty"`
}

// TemplateFrom names a ConfigMap or Secret whose keys hold templates.
type TemplateFrom struct {
	// +optional
	ConfigMap *TemplateRef `json:"configMap,omitempty"`
	// +optional
	Secret *TemplateRef `json:"secret,omitempty"`
	// Target of the rendered template: Data, Annotations or Labels (ESO also accepts a
	// path for target.manifest, which Vigil does not implement: refused at sync).
	// +kubebuilder:default=Data
	// +optional
	Target string `json:"target,omitempty"`
	// Literal template text.
	// +optional
	Literal *string `json:"literal,omitempty"`
	// ValuesDecodingStrategy decodes the template values before rendering.
	// +optional
	ValuesDecodingStrategy ExternalSecretDecodingStrategy `json:"valuesDecodingStrategy,omitempty"`
}

// TemplateRef names an object and the keys that hold templates.
type TemplateRef struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name  string            `json:"name"`
	Items []TemplateRefItem `json:"items"`
}

// TemplateRefItem is one key of a TemplateRef.
type TemplateRefItem struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
	// +kubebuilder:validation:Enum=Values;KeysAndValues
	// +kubebuilder:default=Values
	// +optional
	TemplateAs string `json:"templateAs,omitempty"`
}

// ExternalSecretDataRemoteRef points at one remote secret.
type ExternalSecretDataRemoteRef struct {
	// Key of the remote secret, e.g. a Secrets Manager name or a parameter path. An empty
	// key is refused at sync (ESO's schema accepts it).
	Key string `json:"key"`
	// MetadataPolicy: Fetch reads the secret's tags instead of its value.
	// +kubebuilder:default=None
	// +optional
	MetadataPolicy ExternalSecretMetadataPolicy `json:"metadataPolicy,omitempty"`
	// Property selects a field of a JSON value (gjson path, e.g. "db.password").
	// +optional
	Property string `json:"property,omitempty"`
	// Version of the remote secret: for Secrets Manager a stage (AWSCURRENT) or "uuid/<id>";
	// for Parameter Store a version number.
	// +optional
	Version string `json:"version,omitempty"`
	// ConversionStrategy of remote keys into Secret keys.
	// +kubebuilder:default=Default
	// +optional
	ConversionStrategy ExternalSecretConversionStrategy `json:"conversionStrategy,omitempty"`
	// DecodingStrategy applied to the remote value.
	// +kubebuilder:default=None
	// +optional
	DecodingStrategy ExternalSecretDecodingStrategy `json:"decodingStrategy,omitempty"`
	// NullBytePolicy: Ignore keeps values with NUL bytes, Fail refuses them.
	// +optional
	NullBytePolicy ExternalSecretNullBytePolicy `json:"nullBytePolicy,omitempty"`
}

// ExternalSecretData maps one remote value to one Secret key.
type ExternalSecretData struct {
	// SecretKey is the key in the target Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	SecretKey string `json:"secretKey"`
	// RemoteRef points at the remote value.
	RemoteRef ExternalSecretDataRemoteRef `json:"remoteRef"`
	// SourceRef reads this entry from another store or a generator.
	// +optional
	SourceRef *StoreSourceRef `json:"sourceRef,omitempty"`
}

// StoreSourceRef reads from another store than the ExternalSecret's own.
// +kubebuilder:validation:MaxProperties=1
// +kubebuilder:validation:MinProperties=1
type StoreSourceRef struct {
	// +optional
	SecretStoreRef SecretStoreRef `json:"storeRef,omitempty"`
	// GeneratorRef reads from a generator instead of a store.
	// +optional
	GeneratorRef *GeneratorRef `json:"generatorRef,omitempty"`
}

// GeneratorRef names a generator in generators.external-secrets.io.
type GeneratorRef struct {
	// +kubebuilder:default="generators.external-secrets.io/v1alpha1"
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind of the generator (ESO's list; the kinds Vigil does not implement are refused by
	// name at sync, see docs/providers.md).
	// +kubebuilder:validation:Enum=ACRAccessToken;BeyondtrustWorkloadCredentialsDynamicSecret;ClusterGenerator;CloudsmithAccessToken;ECRAuthorizationToken;Fake;GCRAccessToken;GithubAccessToken;GitlabDeployToken;QuayAccessToken;Password;SSHKey;STSSessionToken;UUID;VaultDynamicSecret;Webhook;Grafana;MFA
	Kind string `json:"kind"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// ExternalSecretDataFromRemoteRef reads many keys at once.
type ExternalSecretDataFromRemoteRef struct {
	// Extract reads a JSON object and stores each of its keys.
	// +optional
	Extract *ExternalSecretDataRemoteRef `json:"extract,omitempty"`
	// Find reads every remote secret that matches.
	// +optional
	Find *ExternalSecretFind `json:"find,omitempty"`
	// Rewrite renames the keys found by extract or find.
	// +optional
	Rewrite []ExternalSecretRewrite `json:"rewrite,omitempty"`
	// SourceRef reads this entry from another store or a generator.
	// +optional
	SourceRef *StoreGeneratorSourceRef `json:"sourceRef,omitempty"`
}

// StoreGeneratorSourceRef is a store or a generator for dataFrom.
// +kubebuilder:validation:MaxProperties=1
// +kubebuilder:validation:MinProperties=1
type StoreGeneratorSourceRef struct {
	// +optional
	SecretStoreRef *SecretStoreRef `json:"storeRef,omitempty"`
	// +optional
	GeneratorRef *GeneratorRef `json:"generatorRef,omitempty"`
}

// ExternalSecretFind selects remote secrets by path, name or tags.
type ExternalSecretFind struct {
	// Path prefix the search is limited to.
	// +optional
	Path *string `json:"path,omitempty"`
	// Name matches remote secret names by regular expression.
	// +optional
	Name *FindName `json:"name,omitempty"`
	// Tags the remote secrets must carry.
	// +optional
	Tags map[string]string `json:"tags,omitempty"`
	// +kubebuilder:default=Default
	// +optional
	ConversionStrategy ExternalSecretConversionStrategy `json:"conversionStrategy,omitempty"`
	// +kubebuilder:default=None
	// +optional
	DecodingStrategy ExternalSecretDecodingStrategy `json:"decodingStrategy,omitempty"`
	// NullBytePolicy: Ignore keeps values with NUL bytes, Fail refuses them.
	// +optional
	NullBytePolicy ExternalSecretNullBytePolicy `json:"nullBytePolicy,omitempty"`
}

// ExternalSecretNullBytePolicy says how values with NUL bytes are handled.
// +kubebuilder:validation:Enum=Ignore;Fail
type ExternalSecretNullBytePolicy string

// FindName matches names by regular expression.
type FindName struct {
	// +optional
	RegExp string `json:"regexp,omitempty"`
}

// ExternalSecretRewrite renames keys.
// +kubebuilder:validation:MaxProperties=1
// +kubebuilder:validation:MinProperties=1
type ExternalSecretRewrite struct {
	// Merge joins the values of the found secrets into one key (ESO's field). Not
	// implemented by Vigil: an ExternalSecret that sets it fails with SecretSyncedError
	// naming the field.
	// +optional
	Merge *ExternalSecretRewriteMerge `json:"merge,omitempty"`
	// +optional
	Regexp *ExternalSecretRewriteRegexp `json:"regexp,omitempty"`
	// +optional
	Transform *ExternalSecretRewriteTransform `json:"transform,omitempty"`
}

// ExternalSecretRewriteMerge configures rewrite.merge (ESO's fields and defaults).
type ExternalSecretRewriteMerge struct {
	// +optional
	// +kubebuilder:default=""
	Into string `json:"into,omitempty"`
	// +optional
	Priority []string `json:"priority,omitempty"`
	// +optional
	// +kubebuilder:default="Strict"
	// +kubebuilder:validation:Enum=IgnoreNotFound;Strict
	PriorityPolicy string `json:"priorityPolicy,omitempty"`
	// +optional
	// +kubebuilder:default="Error"
	// +kubebuilder:validation:Enum=Ignore;Error
	ConflictPolicy string `json:"conflictPolicy,omitempty"`
	// +optional
	// +kubebuilder:default="Extract"
	// +kubebuilder:validation:Enum=Extract;JSON
	Strategy string `json:"strategy,omitempty"`
}

// ExternalSecretRewriteRegexp replaces Source by Target in every key.
type ExternalSecretRewriteRegexp struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// ExternalSecretRewriteTransform renders each key through a template.
type ExternalSecretRewriteTransform struct {
	Template string `json:"template"`
}

// ExternalSecretSpec is the desired state of an ExternalSecret. Duplicate data[].secretKeys
// are a webhook warning (the last entry wins), not a schema error: ESO accepts them.
type ExternalSecretSpec struct {
	// SecretStoreRef names the store to read from.
	// +optional
	SecretStoreRef SecretStoreRef `json:"secretStoreRef,omitempty"`
	// Target describes the Secret to write.
	// +kubebuilder:default={creationPolicy:Owner,deletionPolicy:Retain}
	// +optional
	Target ExternalSecretTarget `json:"target,omitempty"`
	// RefreshPolicy says when the remote data is read again.
	// +optional
	RefreshPolicy ExternalSecretRefreshPolicy `json:"refreshPolicy,omitempty"`
	// RefreshInterval between reads of the remote data ("0" reads only on change).
	// +kubebuilder:default="1h0m0s"
	// +optional
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`
	// Data maps remote values to Secret keys. The limit keeps the API server's cost
	// estimate of the duplicate-key rule within budget; use dataFrom for bulk keys.
	// +kubebuilder:validation:MaxItems=250
	// +optional
	Data []ExternalSecretData `json:"data,omitempty"`
	// SyncWindows restrict when periodic refreshes may happen (ESO's field). Not implemented
	// by Vigil: an ExternalSecret that sets it fails with SecretSyncedError naming the field.
	// +optional
	SyncWindows *ExternalSecretSyncWindows `json:"syncWindows,omitempty"`
	// DataFrom reads many keys at once.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	DataFrom []ExternalSecretDataFromRemoteRef `json:"dataFrom,omitempty"`
}

// ExternalSecretStatus is the observed state of an ExternalSecret.
type ExternalSecretStatus struct {
	// RefreshTime is when the remote data was last read successfully.
	// +nullable
	// +optional
	RefreshTime metav1.Time `json:"refreshTime,omitempty"`
	// SyncedResourceVersion is the generation and metadata hash that was last synced.
	// +optional
	SyncedResourceVersion string `json:"syncedResourceVersion,omitempty"`
	// Conditions; Ready summarises the state.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Binding names the Secret this ExternalSecret writes.
	// +optional
	Binding corev1.LocalObjectReference `json:"binding,omitempty"`
}

// ExternalSecret syncs remote secrets into one Kubernetes Secret.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:scope=Namespaced,shortName=es,categories={external-secrets}
// +kubebuilder:printcolumn:name="StoreType",type=string,JSONPath=`.spec.secretStoreRef.kind`,priority=1
// +kubebuilder:printcolumn:name="Store",type=string,JSONPath=`.spec.secretStoreRef.name`
// +kubebuilder:printcolumn:name="Refresh Interval",type=string,JSONPath=`.spec.refreshInterval`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.refreshTime`
type ExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ExternalSecretSpec   `json:"spec,omitempty"`
	Status ExternalSecretStatus `json:"status,omitempty"`
}

// ExternalSecretList is a list of ExternalSecrets.
// +kubebuilder:object:root=true
type ExternalSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ExternalSecret `json:"items"`
}

// ExternalSecretKind is the kind of an ExternalSecret (owner references, policy inputs).
const ExternalSecretKind = "ExternalSecret"

// ExternalSecretSyncWindows restricts when periodic refreshes may happen.
type ExternalSecretSyncWindows struct {
	// Kind: allow (refresh only inside a window) or deny (never inside a window).
	// +kubebuilder:validation:Enum=allow;deny
	Kind string `json:"kind"`
	// +kubebuilder:validation:MinItems=1
	Windows []ExternalSecretSyncWindowEntry `json:"windows"`
}

// ExternalSecretSyncWindowEntry is one window: a cron schedule and a duration.
type ExternalSecretSyncWindowEntry struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern:=`^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*|[^\s]+( [^\s]+){4})$`
	Schedule string          `json:"schedule"`
	Duration metav1.Duration `json:"duration"`
}
