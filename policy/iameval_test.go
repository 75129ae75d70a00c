package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const (
	acct   = "123456789012"
	smArn  = "arn:aws:secretsmanager:us-east-1:" + acct + ":secret:"
	ssmArn = "arn:aws:ssm:us-east-1:" + acct + ":parameter"
)

// st writes one statement: effect, actions (string or list), resource field and value.
func st(effect string, action any, resField string, res any, extra ...string) string {
	a, _ := json.Marshal(action)
	r, _ := json.Marshal(res)
	actField := "Action"
	if s, ok := action.(string); ok && strings.HasPrefix(s, "!") {
		actField, a = "NotAction", []byte(fmt.Sprintf("%q", s[1:]))
	}
	out := fmt.Sprintf(`{"Effect":%q,%q:%s,%q:%s`, effect, actField, a, resField, r)
	for _, e := range extra {
		out += "," + e
	}
	return out + "}"
}

func doc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

const cond = `"Condition":{"StringEquals":{"aws:PrincipalTag/team":"payments"}}`

// iamCase: policies (boundary ones prefixed "boundary:"), the namespace's prefixes, and the
// expected answer per question: "certain", "except" (certain, every name but some a
// statement singles out), "possible" or "" (not granted). Questions left
// out of want are expected "".
type iamCase struct {
	name     string
	policies []string
	prefixes []string
	want     map[string]string
}

func every(v string) map[string]string { return map[string]string{QuestionEverySecret: v} }

// outsideCertain: the role may certainly read a name outside the prefixes (no case of this
// table has a possible-only answer to that question).
func outsideCertain() map[string]string     { return map[string]string{QuestionOutsidePrefix: "certain"} }
func allActions(v string) map[string]string { return map[string]string{QuestionEveryAction: v} }

func both(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

var iamConformance = []iamCase{
	{"allow read on star", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"))}, nil, every("certain")},
	{"statement as one object", []string{`{"Version":"2012-10-17","Statement":` + st("Allow", "secretsmanager:GetSecretValue", "Resource", "*") + `}`}, nil, every("certain")},
	{"action names are case-insensitive", []string{doc(st("Allow", "SecretsManager:getsecretVALUE", "Resource", []string{"*"}))}, nil, every("certain")},
	{"action wildcard Get*", []string{doc(st("Allow", "secretsmanager:Get*", "Resource", "*"))}, nil, every("certain")},
	{"action wildcard ?", []string{doc(st("Allow", "secretsmanager:GetSecret?alue", "Resource", "*"))}, nil, every("certain")},
	{"ssm GetParam*", []string{doc(st("Allow", "ssm:GetParam*", "Resource", "*"))}, nil, every("certain")},
	{"action list with a non-string", []string{doc(st("Allow", []any{7, "secretsmanager:GetSecretValue"}, "Resource", "*"))}, nil, every("certain")},
	{"non-read actions", []string{doc(st("Allow", []string{"secretsmanager:ListSecrets", "kms:Decrypt"}, "Resource", "*"))}, nil, nil},
	{"account-wide name wildcard", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"*"))}, nil, every("certain")},
	{"region and account wildcards", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "arn:aws:secretsmanager:*:*:secret:*"))}, nil, every("certain")},
	{"star ending a segment crosses colons", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "arn:aws:secretsmanager:*"))}, nil, every("certain")},
	{"region pattern", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "arn:aws:secretsmanager:us-*:"+acct+":secret:*"))}, nil, every("certain")},
	{"another account's secrets", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "arn:aws:secretsmanager:eu-west-1:999999999999:secret:*"))}, nil, every("certain")},
	{"name and random suffix shape", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"*-??????"))}, nil, every("certain")},
	{"one or more characters", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"?*"))}, nil, every("certain")},
	{"anything with a dash", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"*-*"))}, nil, every("certain")},
	{"seven characters at least is not every name", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"??*-??????"))}, nil, nil},
	{"*x* is not every name", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"*x*"))}, []string{"prod/payments/"}, outsideCertain()},
	{"prefix-scoped", []string{doc(st("Allow", []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, "Resource", smArn+"prod/payments/*"))}, []string{"prod/payments/"}, nil},
	{"resources are case-sensitive", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"PROD/payments/*"))}, []string{"prod/payments/"}, outsideCertain()},
	{"a Deny in another case does not subtract", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"), st("Deny", "*", "Resource", "ARN:AWS:SECRETSMANAGER:*"))}, nil, every("certain")},
	{"an ARN in another case grants nothing", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "ARN:AWS:SECRETSMANAGER:*"))}, nil, nil},
	{"a Deny in one region leaves the others", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"), st("Deny", "*", "Resource", "arn:aws:secretsmanager:us-east-1:*"))}, nil, every("certain")},
	{"ssm parameters", []string{doc(st("Allow", "ssm:GetParameter", "Resource", ssmArn+"/*"))}, nil, every("certain")},
	{"ssm parameter*", []string{doc(st("Allow", "ssm:GetParameters", "Resource", ssmArn+"*"))}, nil, every("certain")},
	{"ssm prefix-scoped", []string{doc(st("Allow", "ssm:GetParameter*", "Resource", ssmArn+"/payments/*"))}, []string{"/payments/"}, nil},
	{"ssm by path on the root", []string{doc(st("Allow", "ssm:GetParametersByPath", "Resource", ssmArn+"/"))}, nil, every("certain")},
	{"ssm by path above the prefix", []string{doc(st("Allow", "ssm:GetParametersByPath", "Resource", ssmArn+"/prod"))}, []string{"/prod/payments/"}, outsideCertain()},
	{"prefix is a folder", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"prod/pay*"))}, []string{"prod/pay"}, outsideCertain()},
	{"a prefix ending in - is a name prefix", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"team-a-*"))}, []string{"team-a-"}, nil},
	{"a name prefix is still a prefix", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"team-*"))}, []string{"team-a-"}, outsideCertain()},
	{"prefix names itself", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", []string{smArn + "prod/pay-??????", smArn + "prod/pay/*"}))}, []string{"prod/pay"}, nil},
	{"root prefix holds everything", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"x/*"))}, []string{"/"}, nil},
	{"ssm prefix without its slash", []string{doc(st("Allow", "ssm:GetParameter", "Resource", ssmArn+"/payments/*"))}, []string{"payments/"}, nil},
	{"ssm by path on the prefix", []string{doc(st("Allow", "ssm:GetParametersByPath", "Resource", ssmArn+"/prod/payments"))}, []string{"/prod/payments/"}, nil},
	{"service wildcard names no secret", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "arn:aws:*:us-east-1:"+acct+":secret:prod/*"))}, nil, nil},
	{"Deny with Resource subtracts", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"), st("Deny", "secretsmanager:GetSecretValue", "Resource", "arn:aws:secretsmanager:*:*:secret:*"))}, nil, nil},
	{"partial Deny leaves every name but some", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"), st("Deny", "secretsmanager:GetSecretValue", "Resource", "arn:aws:secretsmanager:*:*:secret:a*"))}, []string{"prod/"}, both(every("except"), outsideCertain())},
	{"Deny with NotResource keeps only the prefix", []string{doc(st("Allow", "*", "Resource", "*"), st("Deny", []string{"secretsmanager:*", "ssm:*"}, "NotResource", "arn:aws:secretsmanager:*:*:secret:prod/payments/*"))}, []string{"prod/payments/"}, allActions("certain")},
	{"Deny with Action subtracts reads and the every-action grant", []string{doc(st("Allow", "secretsmanager:*", "Resource", "*"), st("Deny", "secretsmanager:GetSecretValue", "Resource", "*"))}, nil, nil},
	{"Deny with NotAction", []string{doc(st("Allow", "*", "Resource", "*"), st("Deny", "!secretsmanager:GetSecretValue", "Resource", "*"))}, nil, every("certain")},
	{"mid-segment star stays in its segment", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"), st("Deny", "*", "Resource", "arn:aws:secretsmanager:us-east-1:*secret:*"))}, nil, every("certain")},
	{"Allow NotAction leaving reads", []string{doc(st("Allow", "!iam:*", "Resource", "*"))}, nil, both(every("certain"), allActions("certain"))},
	{"Allow NotAction excluding reads", []string{doc(st("Allow", []string{"s3:*"}, "Resource", "*"), `{"Effect":"Allow","NotAction":["secretsmanager:*","ssm:*"],"Resource":"*"}`)}, nil, nil},
	{"Allow NotResource", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "NotResource", "arn:aws:secretsmanager:*:*:secret:prod/payments/*"))}, nil, every("except")},
	{"Allow NotResource in one region", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "NotResource", smArn+"prod/payments/*"))}, nil, every("certain")},
	{"Allow a list with a hole", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", []string{smArn + "a*", smArn + "b*"}))}, nil, nil},
	{"Allow NotResource star", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "NotResource", "*"))}, nil, nil},
	{"Allow under a Condition is possible", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*", cond))}, nil, every("possible")},
	{"an empty Condition block tests nothing", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*", `"Condition":{}`))}, nil, every("certain")},
	{"an operator without keys tests nothing", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*", `"Condition":{"StringEquals":{}}`))}, nil, every("certain")},
	{"a Deny with an empty Condition subtracts", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"), st("Deny", "*", "Resource", "*", `"Condition":{"Bool":{}}`))}, nil, nil},
	{"Deny under a Condition does not subtract", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"), st("Deny", "*", "Resource", "*", cond))}, nil, every("certain")},
	{"policy variable is possible", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"${aws:username}*"))}, nil, every("possible")},
	{"policy variable escape is literal", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"${*}"))}, nil, nil},
	{"no variables before 2012-10-17", []string{`{"Version":"2008-10-17","Statement":[` + st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"${aws:username}*") + `]}`}, nil, nil},
	{"Deny in another policy", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*")), doc(st("Deny", "secretsmanager:Get*", "Resource", "*"))}, nil, nil},
	{"grants from two policies", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"prod/*")), doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"*"))}, []string{"prod/"}, both(every("certain"), outsideCertain())},
	{"boundary caps the grant", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*")), "boundary:" + doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"prod/payments/*"))}, []string{"prod/payments/"}, nil},
	{"boundary alone grants nothing", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", smArn+"prod/payments/*")), "boundary:" + doc(st("Allow", "*", "Resource", "*"))}, []string{"prod/payments/"}, nil},
	{"boundary of other services", []string{doc(st("Allow", "*", "Resource", "*")), "boundary:" + doc(st("Allow", "s3:*", "Resource", "*"))}, nil, nil},
	{"boundary Deny subtracts", []string{doc(st("Allow", "secretsmanager:*", "Resource", "*")), "boundary:" + doc(st("Allow", "*", "Resource", "*"), st("Deny", "secretsmanager:GetSecretValue", "Resource", "*"))}, nil, nil},
	{"boundary allowing every read", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*")), "boundary:" + doc(st("Allow", "secretsmanager:*", "Resource", "*"))}, nil, every("certain")},
	{"boundary under a Condition", []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*")), "boundary:" + doc(st("Allow", "*", "Resource", "*", cond))}, nil, every("possible")},
	{"Effect is case-sensitive", []string{doc(st("allow", "secretsmanager:GetSecretValue", "Resource", "*"))}, nil, nil},
	{"no Resource grants nothing", []string{doc(`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue"}`)}, nil, nil},
	{"every action on a scoped resource", []string{doc(st("Allow", "secretsmanager:*", "Resource", "*"))}, nil, both(every("certain"), allActions("certain"))},
	{"every action but one", []string{doc(st("Allow", "secretsmanager:*", "Resource", "*"), st("Deny", "secretsmanager:Delete*", "Resource", "*"))}, nil, every("certain")},
	{"secretsmanager:* on a prefix is every action on those secrets", []string{doc(st("Allow", "secretsmanager:*", "Resource", smArn+"prod/payments/*"))}, []string{"prod/payments/"}, allActions("certain")},
	{"every action but one on secrets is not every action", []string{doc(st("Allow", "secretsmanager:*", "Resource", smArn+"prod/payments/*"), st("Deny", "secretsmanager:DeleteSecret", "Resource", "*"))}, []string{"prod/payments/"}, nil},
	{"every action with resource star list", []string{doc(st("Allow", "secretsmanager:*", "Resource", []string{smArn + "prod/payments/*", "*"}))}, nil, both(every("certain"), allActions("certain"))},
	{"every action under a Condition", []string{doc(st("Allow", "*", "Resource", "*", cond))}, nil, both(every("possible"), allActions("possible"))},
	{"no Statement", []string{`{"Version":"2012-10-17"}`}, nil, nil},
}

func TestIAMConformance(t *testing.T) {
	for _, c := range iamConformance {
		t.Run(c.name, func(t *testing.T) {
			got, err := EvaluateIAM(casePolicies(t, c.policies), IAMSubject{RoleARN: "arn:aws:iam::" + acct + ":role/r", Region: "us-east-1", Prefixes: c.prefixes})
			if err != nil {
				t.Fatal(err)
			}
			answers := map[string]string{}
			for _, f := range got {
				answers[f.Question] = map[bool]string{true: "certain", false: "possible"}[f.Certain]
				if f.Except && f.Certain {
					answers[f.Question] = "except"
				}
				if len(f.Grants) == 0 {
					t.Errorf("%s names no statement: %+v", f.Question, f)
				}
			}
			for _, q := range []string{QuestionEverySecret, QuestionOutsidePrefix, QuestionEveryAction} {
				if answers[q] != c.want[q] {
					t.Errorf("%s = %q, want %q (findings %+v)", q, answers[q], c.want[q], got)
				}
			}
		})
	}
}

func casePolicies(t testing.TB, docs []string) []IAMPolicy {
	var out []IAMPolicy
	for i, d := range docs {
		boundary := strings.HasPrefix(d, "boundary:")
		var m map[string]any
		if err := json.Unmarshal([]byte(strings.TrimPrefix(d, "boundary:")), &m); err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		out = append(out, IAMPolicy{Name: fmt.Sprintf("p%d", i), Document: m, Boundary: boundary})
	}
	return out
}

// The example of a finding is the same on every run: among equally short witnesses the
// search picks by a fixed order of characters, never by map order (vigil lint's output is
// compared between runs in CI).
func TestEvaluateIAM_ExampleIsDeterministic(t *testing.T) {
	policies := casePolicies(t, []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", []string{smArn + "A*", smArn + "B*", smArn + "C*", smArn + "D*", smArn + "E*"}))})
	subj := IAMSubject{RoleARN: "arn:aws:iam::" + acct + ":role/r", Region: "us-east-1", Prefixes: []string{"prod/"}}
	first := ""
	for i := range 30 {
		got, err := EvaluateIAM(policies, subj)
		if err != nil || len(got) == 0 {
			t.Fatalf("findings %+v, error %v", got, err)
		}
		if i == 0 {
			first = got[0].Example
		} else if got[0].Example != first {
			t.Fatalf("run %d: example %q, first run %q", i, got[0].Example, first)
		}
	}
	if first != smArn+"A-bbbbbb" {
		t.Errorf("example %q, want the first in order, %s", first, smArn+"A-bbbbbb")
	}
}

// The example of a read outside the prefix is a real ARN: in the store's region and the
// role's account when the grant reaches there (not the shortest witness, which has empty
// region and account segments).
func TestEvaluateIAM_ExampleIsARealARN(t *testing.T) {
	policies := casePolicies(t, []string{doc(st("Allow", "secretsmanager:GetSecretValue", "Resource", "*"))})
	subj := IAMSubject{RoleARN: "arn:aws:iam::" + acct + ":role/r", Region: "us-east-1", Prefixes: []string{"prod/"}}
	got, err := EvaluateIAM(policies, subj)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		if f.Question == QuestionOutsidePrefix && !strings.HasPrefix(f.Example, smArn) {
			t.Errorf("example %q, want one under %s", f.Example, smArn)
		}
	}
}
