package policy

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The IAM evaluator answers the questions the built-in rules ask about a role, with IAM's
// own semantics: an explicit Deny beats any Allow; Action/NotAction and
// Resource/NotResource; action names case-insensitive, resource ARNs case-sensitive; "*"
// and "?" in both; string-or-list fields and a Statement that is one object or a list;
// every inline and managed policy of the role; and, when the role has a permissions
// boundary, only what both the identity policies and the boundary allow.
//
// Conditions are reported, not guessed: a grant that needs an Allow under a Condition (or a
// resource with a policy variable such as ${aws:username}) is "possible", not "certain", and
// the finding names those statements; a Deny under a Condition (or with a variable) may not
// apply to a request, so it never subtracts.
//
// Not modelled (a Deny from these could only narrow what is reported): service control
// policies, session policies, resource-based policies of the secrets, KMS key policies.

// Questions the evaluator answers; they are the `question` of an IAMFinding.
const (
	// QuestionEverySecret: the role may read the value of every secret (or parameter) name
	// of an account and region.
	QuestionEverySecret = "read-every-secret"
	// QuestionOutsidePrefix: the role may read a value whose name is outside every prefix
	// the namespace is allowed (annotation vigil.dev/secret-prefix).
	QuestionOutsidePrefix = "read-outside-prefix"
	// QuestionEveryAction: the role is granted every Secrets Manager action.
	QuestionEveryAction = "every-secretsmanager-action"
)

// IAMFinding is one answer of the evaluator that a rule reports.
type IAMFinding struct {
	Question string `json:"question"`
	// Certain: the grant holds without any Condition or policy variable. Otherwise it holds
	// only if the Conditions (or variables) of the Conditional statements allow it.
	Certain bool   `json:"certain"`
	Service string `json:"service"`
	Action  string `json:"action,omitempty"`
	// Except: not quite every name, but every name except some that a statement singles out
	// (e.g. Allow with NotResource prod/*): still unbounded.
	Except bool `json:"except,omitempty"`
	// Example is a resource the role may read, for read-outside-prefix.
	Example string `json:"example,omitempty"`
	// Grants: the Allow statements (iam:<policy>/Statement[i]) behind it, and their
	// resources as written ("NotResource ..." for a NotResource statement).
	Grants    []string `json:"grants"`
	Resources []string `json:"resources"`
	// Conditional: the Allow statements with a Condition or a policy variable it depends on.
	Conditional []string `json:"conditional,omitempty"`
	// UncountedDenies: Deny statements with a Condition or a variable, which may narrow the
	// grant but were not counted.
	UncountedDenies []string `json:"uncountedDenies,omitempty"`
}

// IAMSubject is what the questions are asked about besides the policies.
type IAMSubject struct {
	RoleARN string
	// Region of the store (the first region whose names are checked); may be empty.
	Region string
	// Prefixes the namespace may read; none means the outside-prefix question is not asked.
	Prefixes []string
}

// The services whose secrets the evaluator asks about, as IAM names them in actions and ARNs.
const (
	svcSecretsManager = "secretsmanager"
	svcSSM            = "ssm"
	// actionGetParametersByPath lists a hierarchy level, so its resource is a path too.
	actionGetParametersByPath = "ssm:GetParametersByPath"
)

// secretReadActions: the actions that return secret values, by service.
var secretReadActions = map[string][]string{
	svcSecretsManager: {"secretsmanager:GetSecretValue"},
	svcSSM:            {"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParameterHistory", actionGetParametersByPath},
}

// secretsManagerActions: every action of Secrets Manager (the Service Authorization
// Reference's list), for "is every action granted".
var secretsManagerActions = []string{
	"BatchGetSecretValue", "CancelRotateSecret", "CreateSecret", "DeleteResourcePolicy", "DeleteSecret",
	"DescribeSecret", "GetRandomPassword", "GetResourcePolicy", "GetSecretValue", "ListSecretVersionIds",
	"ListSecrets", "PutResourcePolicy", "PutSecretValue", "RemoveRegionsFromReplication",
	"ReplicateSecretToRegions", "RestoreSecret", "RotateSecret", "StopReplicationToReplica", "TagResource",
	"UntagResource", "UpdateSecret", "UpdateSecretVersionStage", "ValidateResourcePolicy",
}

// maxPatternBytes bounds the resource patterns one analysis reads (IAM allows at most ten
// managed policies of 6 KiB and 10 KiB of inline policy per role, by default).
const maxPatternBytes = 256 << 10

// EvaluateIAM answers every question for a role's policies. An error means the policies
// could not be analysed (too complex): the caller reports IAM as unknown.
func EvaluateIAM(policies []IAMPolicy, subj IAMSubject) ([]IAMFinding, error) {
	sts := readStatements(policies)
	size := 0
	for _, st := range sts {
		for _, r := range st.resources {
			size += len(r)
		}
	}
	// IAM caps a role's policies at a few KiB each; more is not a document IAM would hold.
	if size > maxPatternBytes {
		return nil, errTooComplex
	}
	e := &iamEval{statements: sts, subj: subj, partition: "aws"}
	e.hasBoundary = slices.ContainsFunc(policies, func(p IAMPolicy) bool { return p.Boundary })
	if a, err := arn.Parse(subj.RoleARN); err == nil {
		e.partition, e.account = a.Partition, a.AccountID
	}
	var out []IAMFinding
	for _, svc := range []string{svcSecretsManager, svcSSM} {
		f, err := e.everySecret(svc)
		if err != nil {
			return nil, err
		}
		out = append(out, f...)
	}
	if len(subj.Prefixes) > 0 {
		for _, svc := range []string{svcSecretsManager, svcSSM} {
			f, err := e.outsidePrefix(svc)
			if err != nil {
				return nil, err
			}
			out = append(out, f...)
		}
	}
	f, err := e.everyAction()
	if err != nil {
		return nil, err
	}
	return append(out, f...), nil
}

// iamMemo remembers analyses by their policies and subject: the reconcile gate and the
// audit ask about the same roles again and again, and an analysis is a search. The zero
// value is ready; it keeps at most maxMemo analyses.
type iamMemo struct {
	mu   sync.Mutex
	byID map[[32]byte]memoEntry
}

type memoEntry struct {
	findings []IAMFinding
	err      error
}

const maxMemo = 1024

func (m *iamMemo) evaluate(policies []IAMPolicy, subj IAMSubject) ([]IAMFinding, error) {
	data, err := json.Marshal([]any{policies, subj})
	if err != nil {
		return EvaluateIAM(policies, subj)
	}
	id := sha256.Sum256(data)
	m.mu.Lock()
	e, ok := m.byID[id]
	m.mu.Unlock()
	if ok {
		return e.findings, e.err
	}
	findings, err := EvaluateIAM(policies, subj)
	m.mu.Lock()
	if m.byID == nil || len(m.byID) >= maxMemo {
		m.byID = map[[32]byte]memoEntry{}
	}
	m.byID[id] = memoEntry{findings, err}
	m.mu.Unlock()
	return findings, err
}

// iamStatement is one statement as the evaluator reads it.
type iamStatement struct {
	path        string
	allow       bool
	boundary    bool
	actions     []string
	notAction   bool
	resources   []string
	notResource bool
	globs       []glob
	// possibleOnly: a Condition or a policy variable decides whether it applies.
	possibleOnly bool
}

// readStatements reads every statement of the policies; statements IAM would refuse
// (no Effect of Allow or Deny, no Action/NotAction, no Resource/NotResource) grant nothing.
func readStatements(policies []IAMPolicy) []iamStatement {
	var out []iamStatement
	for _, p := range policies {
		vars := p.Document["Version"] == "2012-10-17"
		raw := p.Document["Statement"]
		list, ok := raw.([]any)
		if !ok {
			list = []any{raw}
		}
		for i, r := range list {
			m, ok := r.(map[string]any)
			if !ok {
				continue
			}
			st := iamStatement{path: fmt.Sprintf("iam:%s/Statement[%d]", p.Name, i), boundary: p.Boundary}
			if readStatement(m, vars, &st) {
				out = append(out, st)
			}
		}
	}
	return out
}

func readStatement(m map[string]any, vars bool, st *iamStatement) bool {
	switch m["Effect"] {
	case "Allow":
		st.allow = true
	case "Deny":
	default:
		return false
	}
	st.actions, st.notAction = stringsOf(m, "Action", "NotAction")
	st.resources, st.notResource = stringsOf(m, "Resource", "NotResource")
	if st.actions == nil || st.resources == nil {
		return false
	}
	st.possibleOnly = hasCondition(m["Condition"])
	for _, r := range st.resources {
		g, hasVar := resourceGlob(r, vars)
		st.globs = append(st.globs, g)
		st.possibleOnly = st.possibleOnly || hasVar
	}
	return true
}

// hasCondition reports whether a Condition block holds at least one key to test. IAM ANDs
// the keys of a block, so an empty block ({} or {"StringEquals": {}}) tests nothing and
// the statement applies to every request; a block that is not an object of objects is
// read as a Condition (it can only make the statement apply less).
func hasCondition(c any) bool {
	if c == nil {
		return false
	}
	ops, ok := c.(map[string]any)
	if !ok {
		return true
	}
	for _, keys := range ops {
		if m, ok := keys.(map[string]any); !ok || len(m) > 0 {
			return true
		}
	}
	return false
}

// stringsOf reads a field that IAM lets be a string or a list of strings (or its Not form),
// and says which one it was. Values that are not strings are left out.
func stringsOf(m map[string]any, field, notField string) ([]string, bool) {
	v, not := m[field], false
	if v == nil {
		v, not = m[notField], true
	}
	var out []string
	switch x := v.(type) {
	case string:
		out = []string{x}
	case []any:
		out = []string{}
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	default:
		return nil, false
	}
	return out, not
}

// actionMatches: IAM's action patterns, case-insensitive with "*" and "?".
func actionMatches(pattern, action string) bool {
	return matchGlob(actionGlob(strings.ToLower(pattern)), strings.ToLower(action))
}

func actionGlob(p string) glob {
	var g glob
	for _, r := range p {
		switch r {
		case '*':
			g = append(g, many(anyChar)...)
		case '?':
			g = append(g, one(anyChar)...)
		default:
			g = append(g, node{class: literal(r), lit: r})
		}
	}
	return g
}

func (st *iamStatement) coversAction(action string) bool {
	matched := slices.ContainsFunc(st.actions, func(p string) bool { return actionMatches(p, action) })
	return matched != st.notAction
}

func (st *iamStatement) describe() string {
	quoted := make([]string, len(st.resources))
	for i, r := range st.resources {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	s := strings.Join(quoted, ", ")
	if st.notResource {
		return "every resource except " + s
	}
	return s
}
