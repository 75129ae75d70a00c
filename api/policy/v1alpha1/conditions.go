package v1alpha1

// Reasons of a ClusterSecretPolicy's Ready condition (type esv1.ConditionReady).
const (
	// ReasonCompiled: the policy compiled and is in force.
	ReasonCompiled = "Compiled"
	// ReasonCompileFailed: the policy does not compile; the message has the compiler's file,
	// line and reason, and the previous set stays in force.
	ReasonCompileFailed = "CompileFailed"
)
