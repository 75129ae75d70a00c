package policy

import (
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// iamEval asks the questions of one role.
type iamEval struct {
	statements  []iamStatement
	hasBoundary bool
	subj        IAMSubject
	partition   string
	account     string
}

// layout places a target (and more unions of globs) and the statements that apply to an
// action into one search: unions[0] is the target. The Resource patterns of the statements
// of one kind (identity Allow, boundary Allow, Deny) form one union; a NotResource
// statement is a union of its own (it applies where none of its patterns matches).
type layout struct {
	unions      [][]glob
	allow       group
	bound       group
	deny        group
	hasBoundary bool
}

// group: where the Resource union of a kind of statement is, and its NotResource unions.
type group struct {
	res  int
	nots []int
}

func (g group) matches(acc []bool) bool {
	if acc[g.res] {
		return true
	}
	for _, i := range g.nots {
		if !acc[i] {
			return true
		}
	}
	return false
}

// layoutFor collects the statements that apply to action. certain leaves out the Allow
// statements that depend on a Condition or a variable; Deny statements that do are left
// out in both cases (they may not apply, so they subtract nothing for certain).
func (e *iamEval) layoutFor(action string, certain bool, head ...[]glob) *layout {
	l := &layout{unions: append([][]glob{}, head...), hasBoundary: e.hasBoundary}
	var res [3][]glob
	var nots [3][][]glob
	for i := range e.statements {
		st := &e.statements[i]
		if !st.coversAction(action) || (st.possibleOnly && (certain || !st.allow)) {
			continue
		}
		kind := 0
		switch {
		case !st.allow:
			kind = 2
		case st.boundary:
			kind = 1
		}
		if st.notResource {
			nots[kind] = append(nots[kind], st.globs)
		} else {
			res[kind] = append(res[kind], st.globs...)
		}
	}
	groups := []*group{&l.allow, &l.bound, &l.deny}
	for k, g := range groups {
		g.res = len(l.unions)
		l.unions = append(l.unions, res[k])
		for _, n := range nots[k] {
			g.nots = append(g.nots, len(l.unions))
			l.unions = append(l.unions, n)
		}
	}
	return l
}

// granted: an identity Allow, the boundary's Allow when there is a boundary, and no Deny.
func (l *layout) granted(acc []bool) bool {
	return l.allow.matches(acc) && (!l.hasBoundary || l.bound.matches(acc)) && !l.deny.matches(acc)
}

// covers: every string of target is granted.
func (e *iamEval) covers(action string, certain bool, target glob) (bool, error) {
	l := e.layoutFor(action, certain, []glob{target})
	_, found, err := findString(l.unions, func(acc []bool) bool { return acc[0] && !l.granted(acc) })
	return !found, err
}

// grantedOutside finds a string of target, granted, that no glob of inside matches.
func (e *iamEval) grantedOutside(action string, certain bool, target glob, inside []glob) (string, bool, error) {
	l := e.layoutFor(action, certain, []glob{target}, inside)
	return findString(l.unions, func(acc []bool) bool { return acc[0] && !acc[1] && l.granted(acc) })
}

// describeGrant fills in which statements a grant on target comes from.
func (e *iamEval) describeGrant(f *IAMFinding, action string, target glob) error {
	for i := range e.statements {
		st := &e.statements[i]
		if !st.coversAction(action) {
			continue
		}
		_, hit, err := findString([][]glob{{target}, st.globs},
			func(acc []bool) bool { return acc[0] && acc[1] != st.notResource })
		if err != nil {
			return err
		}
		switch {
		case !hit:
		case !st.allow && st.possibleOnly:
			f.UncountedDenies = append(f.UncountedDenies, st.path)
		case st.allow && st.possibleOnly:
			f.Conditional = append(f.Conditional, st.path)
		case st.allow && !st.boundary:
			f.Grants = append(f.Grants, st.path)
			f.Resources = append(f.Resources, st.describe())
		}
	}
	if !f.Certain {
		// A possible-only grant is named by its conditional statements.
		for _, p := range f.Conditional {
			if !slices.Contains(f.Grants, p) {
				f.Grants = append(f.Grants, p)
				f.Resources = append(f.Resources, e.byPath(p).describe())
			}
		}
	}
	return nil
}

// anyPossibleOnly: some statement depends on a Condition or a variable (otherwise what is
// possible is what is certain, and one search per question is enough).
func (e *iamEval) anyPossibleOnly() bool {
	return slices.ContainsFunc(e.statements, func(st iamStatement) bool { return st.possibleOnly })
}

func (e *iamEval) byPath(path string) *iamStatement {
	for i := range e.statements {
		if e.statements[i].path == path {
			return &e.statements[i]
		}
	}
	return &iamStatement{}
}

// everySecret: may the role read every name of the service in some account and region?
func (e *iamEval) everySecret(svc string) ([]IAMFinding, error) {
	var possible *IAMFinding
	for _, action := range secretReadActions[svc] {
		for _, nt := range e.everyNameTargets(svc, action) {
			target := nt.glob
			certain, err := e.covers(action, true, target)
			if err != nil {
				return nil, err
			}
			maybe := certain
			if !certain && e.anyPossibleOnly() {
				if maybe, err = e.covers(action, false, target); err != nil {
					return nil, err
				}
			}
			if !maybe || (!certain && possible != nil) {
				continue
			}
			f := IAMFinding{Question: QuestionEverySecret, Certain: certain, Service: svc, Action: action, Except: nt.except}
			if err := e.describeGrant(&f, action, target); err != nil {
				return nil, err
			}
			if certain {
				return []IAMFinding{f}, nil
			}
			possible = &f
		}
	}
	if possible != nil {
		return []IAMFinding{*possible}, nil
	}
	return nil, nil
}

// everyNameTargets: the languages "every name of the service" for the candidate regions
// and accounts (the store's region, us-east-1, the role's account, and those the Allow
// statements name), and for ssm:GetParametersByPath the root path "/" (it returns every
// parameter below the path it is granted on). Each comes twice: all names, and all names
// that begin with a character no pattern names. A grant of the second is unbounded too
// (every name but those some statement singles out, e.g. NotResource prod/*), and is
// reported as such (IAMFinding.Except).
func (e *iamEval) everyNameTargets(svc, action string) []nameTarget {
	named := map[rune]bool{}
	for _, st := range e.statements {
		for _, g := range st.globs {
			for _, n := range g {
				named[n.lit] = true
			}
		}
	}
	smFresh := func(r rune) bool { return smNameChar(r) && !named[r] }
	ssmFresh := func(r rune) bool { return ssmNameChar(r) && !named[r] }
	var out []nameTarget
	for _, except := range []bool{false, true} {
		// Two more real regions stand for the ones no pattern names (a grant on "*"
		// narrowed by a Deny in one region still reads every name of the others).
		for _, region := range e.candidates(arnRegion, svc, e.subj.Region, "us-east-1", "eu-west-1", "ap-southeast-2") {
			for _, account := range e.candidates(arnAccount, svc, e.account) {
				base := litGlob("arn:" + e.partition + ":" + svc + ":" + region + ":" + account + ":")
				switch svc {
				case svcSecretsManager:
					first := charClass(smNameChar)
					if except {
						first = smFresh
					}
					// NAME-XXXXXX: the name and six random characters Secrets Manager appends.
					suffix := litGlob("-")
					for range 6 {
						suffix = suffix.then(one(isAlnum))
					}
					out = append(out, nameTarget{base.then(litGlob("secret:"), one(first), many(smNameChar), suffix), except})
				case svcSSM:
					first := charClass(ssmNameChar)
					if except {
						first = ssmFresh
					}
					out = append(out, nameTarget{base.then(litGlob("parameter/"), one(first), many(ssmNameChar)), except})
					if action == actionGetParametersByPath && !except {
						out = append(out, nameTarget{base.then(litGlob("parameter/")), false})
					}
				}
			}
		}
	}
	return out
}

// nameTarget is one language of names; except: the names that begin with a character no
// pattern names.
type nameTarget struct {
	glob   glob
	except bool
}

// The ARN segments candidates are drawn from.
func arnRegion(a arn.ARN) string  { return a.Region }
func arnAccount(a arn.ARN) string { return a.AccountID }

// candidates returns the given values and, for one segment of every Allow resource, one
// value it matches (wildcards dropped), without duplicates, at most 6.
func (e *iamEval) candidates(segment func(arn.ARN) string, svc string, given ...string) []string {
	var out []string
	add := func(v string) {
		if !slices.Contains(out, v) && len(out) < 6 {
			out = append(out, v)
		}
	}
	for _, v := range given {
		if v != "" {
			add(v)
		}
	}
	for _, st := range e.statements {
		if !st.allow || st.notResource {
			continue
		}
		for _, r := range st.resources {
			// Only resources of the service (or of a wildcard service) name candidates.
			if a, err := arn.Parse(r); err == nil && matchGlob(actionGlob(a.Service), svc) {
				add(strings.NewReplacer("*", "", "?", "a", "${", "", "}", "").Replace(segment(a)))
			}
		}
	}
	return out
}

// outsidePrefix: may the role read a name of the service outside every prefix?
func (e *iamEval) outsidePrefix(svc string) ([]IAMFinding, error) {
	var possible *IAMFinding
	for _, action := range secretReadActions[svc] {
		target, inside, ok := e.prefixLanguages(svc, action)
		if !ok {
			return nil, nil
		}
		for _, certain := range []bool{true, false} {
			if !certain && !e.anyPossibleOnly() {
				break
			}
			example, found, err := e.exampleOutside(svc, action, certain, target, inside)
			if err != nil {
				return nil, err
			}
			if !found || (!certain && possible != nil) {
				continue
			}
			f := IAMFinding{Question: QuestionOutsidePrefix, Certain: certain, Service: svc, Action: action, Example: example}
			if err := e.describeGrant(&f, action, litGlob(example)); err != nil {
				return nil, err
			}
			if certain {
				return []IAMFinding{f}, nil
			}
			possible = &f
			break
		}
	}
	if possible != nil {
		return []IAMFinding{*possible}, nil
	}
	return nil, nil
}

// exampleOutside finds a name outside the prefixes that the role may read: first in the
// store's region and the role's account, so that the example is a real ARN a reader
// recognises, then in any region and account (the shortest witness there has empty
// region and account segments, arn:aws:secretsmanager:::secret:…).
func (e *iamEval) exampleOutside(svc, action string, certain bool, target glob, inside []glob) (string, bool, error) {
	if e.subj.Region != "" && e.account != "" {
		local := litGlob("arn:" + e.partition + ":" + svc + ":" + e.subj.Region + ":" + e.account + ":")
		rest := target[len(litGlob("arn:"+e.partition+":"+svc+":"))+4:] // after the region and account nodes
		example, found, err := e.grantedOutside(action, certain, local.then(rest), inside)
		if err != nil || found {
			return example, found, err
		}
	}
	return e.grantedOutside(action, certain, target, inside)
}

// prefixLanguages: every name of the service in any region and account, and the names
// inside the namespace's prefixes, read as externalsecret-key-outside-prefix reads them: a
// prefix is a folder ("prod/pay" holds "prod/pay" itself and "prod/pay/db", not
// "prod/payments"), Parameter Store names with or without their leading "/". For
// ssm:GetParametersByPath the folder itself is inside too (it returns what is below it).
// A prefix of "/" holds everything: then nothing is outside (ok false).
func (e *iamEval) prefixLanguages(svc, action string) (target glob, inside []glob, ok bool) {
	base := litGlob("arn:"+e.partition+":"+svc+":").then(many(notColon), litGlob(":"), many(notColon), litGlob(":"))
	suffix := litGlob("-")
	for range 6 {
		suffix = suffix.then(one(isAlnum))
	}
	for _, p := range e.subj.Prefixes {
		folder := strings.Trim(strings.TrimSpace(p), "/")
		if svc == svcSecretsManager {
			folder = strings.TrimRight(strings.TrimSpace(p), "/")
		}
		if folder == "" {
			return nil, nil, false
		}
		exact := !strings.HasSuffix(p, "/") || action == actionGetParametersByPath
		if namePrefix(p) {
			// "team-a-" cuts names, not folders: every name that starts with it is inside.
			switch svc {
			case svcSecretsManager:
				inside = append(inside, many(anyChar).then(litGlob(":secret:"+folder), many(anyChar)))
			case svcSSM:
				inside = append(inside, many(anyChar).then(litGlob(":parameter/"+folder), many(anyChar)))
			}
			continue
		}
		switch svc {
		case svcSecretsManager:
			inside = append(inside, many(anyChar).then(litGlob(":secret:"+folder+"/"), many(anyChar)))
			if exact {
				inside = append(inside, many(anyChar).then(litGlob(":secret:"+folder), suffix))
			}
		case svcSSM:
			inside = append(inside, many(anyChar).then(litGlob(":parameter/"+folder+"/"), many(anyChar)))
			if exact {
				inside = append(inside, many(anyChar).then(litGlob(":parameter/"+folder)))
			}
		}
	}
	switch svc {
	case svcSecretsManager:
		target = base.then(litGlob("secret:"), one(smNameChar), many(smNameChar), suffix)
	case svcSSM:
		target = base.then(litGlob("parameter/"), many(ssmNameChar))
		if action != actionGetParametersByPath {
			target = base.then(litGlob("parameter/"), one(ssmNameChar), many(ssmNameChar))
		}
	}
	return target, inside, true
}

// namePrefix: a prefix that ends in a separator other than "/" ("team-a-", "app_") is a
// name prefix, as externalsecret-key-outside-prefix reads it.
func namePrefix(p string) bool {
	p = strings.TrimSpace(p)
	return p != "" && strings.ContainsRune("-_.:+=@", rune(p[len(p)-1]))
}

// resourcelessActions are authorized against the resource "*" only (they have no resource
// type): a statement grants them only if a Resource pattern matches the string "*".
var resourcelessActions = []string{"BatchGetSecretValue", "GetRandomPassword", "ListSecrets"}

// everyAction: is every Secrets Manager action on secrets granted (on some resource)? The
// actions without a resource type (ListSecrets, GetRandomPassword, BatchGetSecretValue) are
// left out: `secretsmanager:*` on a prefix still lets the role delete, overwrite and share
// (PutResourcePolicy) every secret under it, which is what the rule warns about, even though
// ListSecrets needs Resource "*".
func (e *iamEval) everyAction() ([]IAMFinding, error) {
	verdict := func(certain bool) (bool, error) {
		for _, a := range secretsManagerActions {
			if slices.Contains(resourcelessActions, a) {
				continue
			}
			l := e.layoutFor("secretsmanager:"+a, certain, []glob{many(anyChar)})
			_, found, err := findString(l.unions, l.granted)
			if err != nil || !found {
				return false, err
			}
		}
		return true, nil
	}
	certain, err := verdict(true)
	if err != nil {
		return nil, err
	}
	if !certain {
		if !e.anyPossibleOnly() {
			return nil, nil
		}
		if maybe, err := verdict(false); err != nil || !maybe {
			return nil, err
		}
	}
	f := IAMFinding{Question: QuestionEveryAction, Certain: certain, Service: svcSecretsManager}
	for _, st := range e.statements {
		if !st.allow || st.boundary ||
			slices.ContainsFunc(secretsManagerActions, func(a string) bool { return !st.coversAction("secretsmanager:" + a) }) {
			continue
		}
		if st.possibleOnly {
			f.Conditional = append(f.Conditional, st.path)
		}
		if !st.possibleOnly || !certain {
			f.Grants = append(f.Grants, st.path)
			f.Resources = append(f.Resources, actionsOf(st))
		}
	}
	return []IAMFinding{f}, nil
}

func actionsOf(st iamStatement) string {
	quoted := make([]string, len(st.actions))
	for i, a := range st.actions {
		quoted[i] = `"` + a + `"`
	}
	if st.notAction {
		return "every action except " + strings.Join(quoted, ", ")
	}
	return strings.Join(quoted, ", ")
}

// Decide is IAM's decision for one request, an action on a resource, under the policies
// (and the boundary among them), leaving out every statement with a Condition or a policy
// variable: allowed when an Allow applies, the boundary allows it too, and no Deny applies.
func Decide(policies []IAMPolicy, action, resource string) (bool, error) {
	e := &iamEval{statements: readStatements(policies)}
	e.hasBoundary = slices.ContainsFunc(policies, func(p IAMPolicy) bool { return p.Boundary })
	l := e.layoutFor(action, true, []glob{litGlob(resource)})
	_, allowed, err := findString(l.unions, func(acc []bool) bool { return acc[0] && l.granted(acc) })
	return allowed, err
}
