package policy

import "fmt"

// Why an identity's policies refuse a request, as ExplainDenial finds it.
const (
	DenialNotGranted = "not-granted" // no Allow applies
	DenialExplicit   = "explicit-deny"
	DenialBoundary   = "boundary"
	DenialElsewhere  = "allowed" // the role's own policies allow it
)

// Denial is the cause of a refused request: Kind, and the policy that refuses it (the Deny
// or the boundary) when one does.
type Denial struct {
	Kind   string
	Policy string
}

// ExplainDenial says why a role's policies refuse an action on a resource: no Allow grants
// it, an explicit Deny (in which policy), or the permissions boundary; or that they allow
// it, so the refusal comes from elsewhere (a resource policy, an SCP, a Condition).
// Statements with a Condition or a policy variable are left out, as in Decide.
func ExplainDenial(policies []IAMPolicy, action, resource string) (Denial, error) {
	var identity, allows, boundary []IAMPolicy
	for _, p := range policies {
		if p.Boundary {
			boundary = append(boundary, p)
			continue
		}
		identity = append(identity, p)
		allows = append(allows, withEffect(p, "Allow"))
	}
	granted, err := Decide(allows, action, resource)
	if err != nil || !granted {
		return Denial{Kind: DenialNotGranted}, err
	}
	for _, p := range identity {
		ok, err := Decide(append(append([]IAMPolicy{}, allows...), withEffect(p, "Deny")), action, resource)
		if err != nil {
			return Denial{}, err
		}
		if !ok {
			return Denial{Kind: DenialExplicit, Policy: p.Name}, nil
		}
	}
	for _, b := range boundary {
		ok, err := Decide(append(append([]IAMPolicy{}, allows...), b), action, resource)
		if err != nil {
			return Denial{}, err
		}
		if !ok {
			return Denial{Kind: DenialBoundary, Policy: b.Name}, nil
		}
	}
	return Denial{Kind: DenialElsewhere}, nil
}

// Hint is the fix a Denial points to, in one clause.
func (d Denial) Hint() string {
	switch d.Kind {
	case DenialNotGranted:
		return "no statement of the role's policies allows it: add that Allow to the role's policy"
	case DenialExplicit:
		return fmt.Sprintf("an explicit Deny in the role's policy %q refuses it: remove or narrow that Deny", d.Policy)
	case DenialBoundary:
		return fmt.Sprintf("the role's permissions boundary %q does not allow it: add it to the boundary", d.Policy)
	}
	return "the role's policies allow it (statements with a Condition aside): the refusal comes from a " +
		"resource policy, a service control policy or a Condition"
}

// withEffect is p with only the statements of one effect.
func withEffect(p IAMPolicy, effect string) IAMPolicy {
	doc := make(map[string]any, len(p.Document))
	for k, v := range p.Document {
		doc[k] = v
	}
	var kept []any
	switch st := p.Document["Statement"].(type) {
	case []any:
		for _, s := range st {
			if m, ok := s.(map[string]any); ok && m["Effect"] == effect {
				kept = append(kept, m)
			}
		}
	case map[string]any:
		if st["Effect"] == effect {
			kept = append(kept, st)
		}
	}
	doc["Statement"] = kept
	return IAMPolicy{Name: p.Name, Document: doc, Boundary: p.Boundary}
}
