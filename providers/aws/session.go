package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// The audit trail in CloudTrail: every role session Vigil opens is named after the
// namespace it reads for (`vigil-<namespace>`) and, where the role allows sts:TagSession,
// tagged with it. Clients are cached per store and, for a ClusterSecretStore, per
// namespace (providers.ClientCache), so one session never serves two namespaces and the
// name costs no extra STS call. See docs/audit-trail.md.

const (
	// maxSessionName is IAM's bound of RoleSessionName ([\w+=,.@-]{2,64}).
	maxSessionName = 64
	// sessionHashLen hex digits of SHA-256 end a name that had to be shortened or
	// rewritten, so that two namespaces never share a session name.
	sessionHashLen = 10
	// UserAgentKey names the namespace in the user agent of every call
	// ("vigil-namespace/<namespace>"), which CloudTrail records as userAgent.
	UserAgentKey = "vigil-namespace"
	// NamespaceTag is the session tag naming the namespace a session reads for.
	NamespaceTag = "kubernetes-namespace"
	// maxTagValue is STS's bound of a session tag value.
	maxTagValue = 256
	// untaggedFor is how long a role that refused session tags is assumed without them
	// before tags are tried again (its trust policy may have been fixed meanwhile).
	untaggedFor = time.Hour
	// maxUntagged bounds the roles remembered as refusing tags.
	maxUntagged = 1024
)

// SessionName is the RoleSessionName of sessions that read for namespace: `vigil-<namespace>`
// as is when it fits IAM's character set and 64 characters; otherwise its characters
// outside the set become '-', it is cut to fit, and '.' plus a hash of the namespace ends
// it. Kubernetes namespace names contain no '.', so a hashed name never equals a plain one.
// An empty namespace (a store validated on its own) is "vigil".
func SessionName(namespace string) string {
	if namespace == "" {
		return "vigil"
	}
	raw := "vigil-" + namespace
	name := strings.Map(sessionRune, raw)
	if name == raw && len(name) <= maxSessionName && !strings.Contains(namespace, ".") {
		return name
	}
	sum := sha256.Sum256([]byte(namespace))
	suffix := "." + hex.EncodeToString(sum[:])[:sessionHashLen]
	if len(name) > maxSessionName-len(suffix) {
		name = name[:maxSessionName-len(suffix)]
	}
	return name + suffix
}

// sessionRune keeps the characters IAM allows in a session name ([\w+=,.@-]) and turns
// every other rune into '-'.
func sessionRune(r rune) rune {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return r
	case strings.ContainsRune("_+=,.@-", r):
		return r
	}
	return '-'
}

// sessionTags are the tags of a session that reads for namespace. Namespace names fit the
// tag value set ([\p{L}\p{Z}\p{N}_.:/=+\-@]); the value is sanitised and bounded anyway.
func sessionTags(namespace string) []ststypes.Tag {
	if namespace == "" {
		return nil
	}
	v := strings.Map(sessionRune, namespace)
	if len(v) > maxTagValue {
		v = v[:maxTagValue]
	}
	return []ststypes.Tag{{Key: aws.String(NamespaceTag), Value: aws.String(v)}}
}

// tagFallback assumes a role with session tags and, when STS refuses them (AccessDenied:
// the role's trust policy does not allow sts:TagSession), without: a role set up without
// tags keeps working, with the namespace in the session name only. The refusal is
// remembered per store, role and namespace (untaggedKey) for untaggedFor, so such a role
// costs one extra STS call an hour, not one per credential refresh.
//
// A trust policy that allows TagSession only for some tag values refuses the others'
// tagged sessions; that refusal stays with the namespace that got it. Such a role must
// deny untagged AssumeRole too (a condition on aws:RequestTag/kubernetes-namespace on
// sts:AssumeRole), so that the fallback fails closed: see docs/audit-trail.md.
type tagFallback struct {
	tagged, plain aws.CredentialsProvider
	key           string
	memo          *untaggedRoles
}

// Retrieve implements aws.CredentialsProvider.
func (f *tagFallback) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if f.memo.refused(f.key) {
		return f.plain.Retrieve(ctx)
	}
	c, err := f.tagged.Retrieve(ctx)
	if err == nil || !accessDenied(err) {
		return c, err
	}
	c, err = f.plain.Retrieve(ctx)
	if err == nil {
		// Only tags were the problem; without this the role's own error is the answer.
		f.memo.remember(f.key)
	}
	return c, err
}

func accessDenied(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "AccessDenied"
}

// untaggedRoles remembers, for a while, the roles that refused session tags.
type untaggedRoles struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]time.Time // role key → when to try tags again
}

func newUntaggedRoles() *untaggedRoles {
	return &untaggedRoles{now: time.Now, m: map[string]time.Time{}}
}

func (u *untaggedRoles) refused(key string) bool {
	if u == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	until, ok := u.m[key]
	if ok && u.now().After(until) {
		delete(u.m, key)
		return false
	}
	return ok
}

func (u *untaggedRoles) remember(key string) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	if len(u.m) >= maxUntagged {
		for k, until := range u.m {
			if now.After(until) || len(u.m) >= maxUntagged {
				delete(u.m, k)
			}
		}
	}
	u.m[key] = now.Add(untaggedFor)
}
