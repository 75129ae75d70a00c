package policy

import (
	"fmt"
	"slices"
	"strings"
)

// CheckIAMDocument reports why IAM would refuse an identity policy document
// (MalformedPolicyDocument), or nil. Documents read from IAM always pass; those given to
// `vigil lint` as files may not, and evaluating them would answer a question IAM never
// has to: a statement with "effect" or "Effect": "allow" (names and the Effect value are
// case-sensitive) would read as granting nothing, one with both Action and NotAction as
// granting something. The checks are IAM's grammar, not a guess at intent.
func CheckIAMDocument(doc map[string]any) error {
	for k := range doc {
		if !slices.Contains([]string{"Version", "Id", "Statement"}, k) {
			return fmt.Errorf("element %q is not one IAM knows (Version, Id, Statement; names are case-sensitive)", k)
		}
	}
	if v, ok := doc["Version"]; ok && v != "2012-10-17" && v != "2008-10-17" {
		return fmt.Errorf("Version %v is not 2012-10-17 or 2008-10-17", v)
	}
	raw, ok := doc["Statement"]
	if !ok {
		return fmt.Errorf("it has no Statement")
	}
	list, isList := raw.([]any)
	if !isList {
		list = []any{raw}
	}
	if len(list) == 0 {
		return fmt.Errorf("Statement is empty")
	}
	sids := map[string]bool{}
	for i, r := range list {
		st, ok := r.(map[string]any)
		if !ok {
			return fmt.Errorf("Statement[%d] is not an object", i)
		}
		if err := checkStatement(st); err != nil {
			return fmt.Errorf("Statement[%d]: %w", i, err)
		}
		if sid, _ := st["Sid"].(string); sid != "" {
			if sids[sid] {
				return fmt.Errorf("Statement[%d]: Sid %q is used twice (IAM wants them unique)", i, sid)
			}
			sids[sid] = true
		}
	}
	return nil
}

func checkStatement(st map[string]any) error {
	for k := range st {
		switch k {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition":
		case "Principal", "NotPrincipal":
			return fmt.Errorf("%s is not allowed in an identity policy (only in resource and trust policies)", k)
		default:
			return fmt.Errorf(
				"element %q is not one IAM knows (Sid, Effect, Action, NotAction, Resource, NotResource, "+
					"Condition; names are case-sensitive)", k)
		}
	}
	if e, ok := st["Effect"]; !ok {
		return fmt.Errorf("it has no Effect")
	} else if e != "Allow" && e != "Deny" {
		return fmt.Errorf("Effect %q is not Allow or Deny (the value is case-sensitive)", fmt.Sprint(e))
	}
	if sid, ok := st["Sid"]; ok {
		if _, isString := sid.(string); !isString {
			return fmt.Errorf("Sid is not a string")
		}
	}
	actions, err := oneOf(st, "Action", "NotAction")
	if err != nil {
		return err
	}
	for _, a := range actions {
		if err := checkAction(a); err != nil {
			return err
		}
	}
	resources, err := oneOf(st, "Resource", "NotResource")
	if err != nil {
		return err
	}
	for _, r := range resources {
		if r != "*" && !strings.Contains(r, ":") {
			return fmt.Errorf("resource %q is not an ARN or \"*\"", r)
		}
	}
	if c, ok := st["Condition"]; ok {
		m, isMap := c.(map[string]any)
		if !isMap {
			return fmt.Errorf("Condition is not an object of operators")
		}
		for op, v := range m {
			if _, isMap := v.(map[string]any); !isMap {
				return fmt.Errorf("Condition %q is not an object of keys and values", op)
			}
		}
	}
	return nil
}

// oneOf reads exactly one of a field and its Not form: a string or a non-empty list of
// strings.
func oneOf(st map[string]any, field, notField string) ([]string, error) {
	v, has := st[field]
	nv, hasNot := st[notField]
	switch {
	case has && hasNot:
		return nil, fmt.Errorf("it has both %s and %s", field, notField)
	case !has && !hasNot:
		return nil, fmt.Errorf("it has neither %s nor %s", field, notField)
	case hasNot:
		v, field = nv, notField
	}
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		if len(x) == 0 {
			return nil, fmt.Errorf("%s is an empty list", field)
		}
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s holds a value that is not a string", field)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not a string or a list of strings", field)
}

// checkAction: "*", or service:pattern with a service prefix of letters, digits, "-" and
// "." (IAM: "Actions must be prefaced by a vendor").
func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	vendor, name, ok := strings.Cut(a, ":")
	if !ok || strings.Contains(name, ":") {
		return fmt.Errorf("action %q is not service:action (e.g. secretsmanager:GetSecretValue) or \"*\"", a)
	}
	if vendor == "*" {
		return nil
	}
	for _, r := range vendor {
		if !isAlnum(r) && r != '-' && r != '.' {
			return fmt.Errorf("action %q: the service prefix %q is not a service name", a, vendor)
		}
	}
	if vendor == "" {
		return fmt.Errorf("action %q has no service prefix", a)
	}
	return nil
}
