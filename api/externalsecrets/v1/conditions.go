package v1

// Condition types and reasons. The names are ESO's and are part of the compatibility
// contract: alerts and dashboards match on them. New reasons are additions, never renames.
const (
	// ConditionReady summarises an object's state.
	ConditionReady = "Ready"

	// ExternalSecret reasons.
	ReasonSecretSynced      = "SecretSynced"
	ReasonSecretSyncedError = "SecretSyncedError"
	ReasonSecretDeleted     = "SecretDeleted"
	ReasonSecretMissing     = "SecretMissing"

	// ReasonPolicyViolation: a Deny policy blocks the object (stores and ExternalSecrets);
	// Vigil's addition.
	ReasonPolicyViolation = "PolicyViolation"

	// Store reasons.
	ReasonStoreValid            = "Valid"
	ReasonInvalidProviderConfig = "InvalidProviderConfig"
	ReasonValidationFailed      = "ValidationFailed"
)

// Labels and annotations shared with ESO.
const (
	// LabelManaged marks Secrets that an ExternalSecret writes.
	LabelManaged      = "reconcile.external-secrets.io/managed"
	LabelManagedValue = "true"
	// AnnotationDataHash holds the hash of the data Vigil last wrote into a Secret.
	AnnotationDataHash = "reconcile.external-secrets.io/data-hash"
	// AnnotationForceSync: any change of its value makes the ExternalSecret sync now.
	AnnotationForceSync = "external-secrets.io/force-sync"
)
