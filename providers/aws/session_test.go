package aws

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// IAM's RoleSessionName pattern.
var sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func TestSessionName(t *testing.T) {
	long := strings.Repeat("a", 63) // the longest Kubernetes namespace name
	for _, tc := range []struct{ namespace, want string }{
		{"", "vigil"},
		{"prod", "vigil-prod"},
		{"team-a", "vigil-team-a"},
		{strings.Repeat("a", 58), "vigil-" + strings.Repeat("a", 58)}, // exactly 64: kept as is
	} {
		if got := SessionName(tc.namespace); got != tc.want {
			t.Errorf("SessionName(%q) = %q, want %q", tc.namespace, got, tc.want)
		}
	}
	got := SessionName(long)
	if len(got) != maxSessionName || !strings.HasPrefix(got, "vigil-aaaa") {
		t.Errorf("SessionName(63 a's) = %q (%d characters), want 64 starting with vigil-aaaa", got, len(got))
	}
}

// Whatever a tenant names things, the session name fits IAM's pattern, and two different
// namespaces never share a name: not when cut to 64 characters, not when rewritten.
func TestSessionNameBoundedAndUnique(t *testing.T) {
	prefix := strings.Repeat("n", 60)
	inputs := []string{"x", "a.b", "a-b", "a_b", "a b", "ä", "a/b", "a\nb", "a-" + strings.Repeat("é", 100),
		prefix + "-one", prefix + "-two", prefix + "one", strings.Repeat("z", 300), strings.Repeat(".", 64)}
	for i := range 200 {
		inputs = append(inputs, fmt.Sprintf("%s-%03d", strings.Repeat("long-namespace", 5), i))
	}
	seen := map[string]string{}
	for _, ns := range inputs {
		name := SessionName(ns)
		if !sessionNamePattern.MatchString(name) {
			t.Errorf("SessionName(%q) = %q does not match %s", ns, name, sessionNamePattern)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("namespaces %q and %q share the session name %q", other, ns, name)
		}
		seen[name] = ns
	}
}

func FuzzSessionName(f *testing.F) {
	f.Add("prod")
	f.Add(strings.Repeat("ab.", 40))
	f.Fuzz(func(t *testing.T, ns string) {
		if ns == "" {
			return
		}
		if name := SessionName(ns); !sessionNamePattern.MatchString(name) {
			t.Fatalf("SessionName(%q) = %q does not match %s", ns, name, sessionNamePattern)
		}
	})
}

func TestSessionTags(t *testing.T) {
	if tags := sessionTags(""); tags != nil {
		t.Errorf("tags of no namespace = %v, want none", tags)
	}
	tags := sessionTags(strings.Repeat("n", 300))
	if len(tags) != 1 || aws.ToString(tags[0].Key) != NamespaceTag || len(aws.ToString(tags[0].Value)) != maxTagValue {
		t.Errorf("tags of a 300-character namespace = %+v, want %s cut to %d", tags, NamespaceTag, maxTagValue)
	}
}

// stubCreds counts its calls and answers with err.
type stubCreds struct {
	calls int
	err   error
}

func (s *stubCreds) Retrieve(context.Context) (aws.Credentials, error) {
	s.calls++
	return aws.Credentials{AccessKeyID: "AKID"}, s.err
}

var denied = &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: sts:TagSession"}

// A role that refuses tags is assumed without them, and not asked with tags again until
// untaggedFor has passed; any other failure is returned as is, with no retry.
func TestTagFallback(t *testing.T) {
	now := time.Now()
	memo := newUntaggedRoles()
	memo.now = func() time.Time { return now }
	tagged, plain := &stubCreds{err: fmt.Errorf("assume: %w", denied)}, &stubCreds{}
	f := &tagFallback{tagged: tagged, plain: plain, key: "uid|role", memo: memo}
	for range 3 {
		if _, err := f.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if tagged.calls != 1 || plain.calls != 3 {
		t.Errorf("tagged %d, untagged %d calls; want 1 and 3", tagged.calls, plain.calls)
	}
	now = now.Add(untaggedFor + time.Second)
	tagged.err = nil
	if _, err := f.Retrieve(context.Background()); err != nil || tagged.calls != 2 {
		t.Errorf("after %v: err %v, %d tagged calls; want tags tried again", untaggedFor, err, tagged.calls)
	}

	// Denied with and without tags: the role's own refusal, and nothing remembered.
	both := &tagFallback{tagged: &stubCreds{err: denied}, plain: &stubCreds{err: denied}, key: "other", memo: memo}
	if _, err := both.Retrieve(context.Background()); !errors.Is(err, denied) || memo.refused("other") {
		t.Errorf("err %v, remembered %v; want the AccessDenied and nothing remembered", err, memo.refused("other"))
	}
	// Another failure (throttling, network) does not fall back.
	boom := errors.New("connection refused")
	other := &tagFallback{tagged: &stubCreds{err: boom}, plain: &stubCreds{}, key: "net", memo: memo}
	if _, err := other.Retrieve(context.Background()); !errors.Is(err, boom) {
		t.Errorf("err %v, want the network error", err)
	}
}

func TestUntaggedRolesBounded(t *testing.T) {
	memo := newUntaggedRoles()
	for i := range maxUntagged * 2 {
		memo.remember(fmt.Sprint(i))
	}
	if len(memo.m) > maxUntagged {
		t.Errorf("%d roles remembered, bound %d", len(memo.m), maxUntagged)
	}
}

// A refusal of team-b's tagged session on a shared ClusterSecretStore (a trust policy that
// allows TagSession only for kubernetes-namespace=team-a) is remembered for team-b only:
// team-a's sessions on the same store and role keep their tag.
func TestTagFallbackPerNamespace(t *testing.T) {
	store := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "shared", UID: "uid-1"}}
	const role = "arn:aws:iam::123456789012:role/shared"
	memo := newUntaggedRoles()
	bTagged, bPlain := &stubCreds{err: denied}, &stubCreds{}
	teamB := &tagFallback{tagged: bTagged, plain: bPlain, key: untaggedKey(store, role, "team-b"), memo: memo}
	if _, err := teamB.Retrieve(context.Background()); err != nil || bPlain.calls != 1 {
		t.Fatalf("team-b: err %v, %d untagged calls; want the untagged fallback", err, bPlain.calls)
	}
	aTagged, aPlain := &stubCreds{}, &stubCreds{}
	teamA := &tagFallback{tagged: aTagged, plain: aPlain, key: untaggedKey(store, role, "team-a"), memo: memo}
	for range 2 {
		if _, err := teamA.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if aTagged.calls != 2 || aPlain.calls != 0 {
		t.Errorf("team-a after team-b's refusal: %d tagged, %d untagged calls; want 2 tagged, 0 untagged",
			aTagged.calls, aPlain.calls)
	}
	if !memo.refused(untaggedKey(store, role, "team-b")) {
		t.Error("team-b's refusal is not remembered")
	}
	other := &esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "uid-2"}}
	if memo.refused(untaggedKey(other, role, "team-b")) || memo.refused(untaggedKey(store, role+"x", "team-b")) {
		t.Error("the refusal leaks to another store or role")
	}
}
