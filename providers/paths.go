package providers

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"k8s.io/apimachinery/pkg/util/validation"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
)

// Remote keys and find paths are tenant input that a backend may read as another path:
// Vault's client joins and cleans every request path (path.Join), so
// `prod/payments/../../billing/db` reads `billing/db`, and on a KV v1 mount
// `x/../../auth/token/lookup-self` leaves the mount altogether. Policies compare names as
// strings, so a key is refused unless it is already in the form the backend reads it:
// no "." or ".." segments, no empty segments, nothing percent-encoded or backslashed that
// a proxy or backend could decode into a separator. The same spelling rules hold for every
// provider (a reader of the manifest, an IAM pattern and a prefix rule should all see the
// path the backend reads); what differs is only what each backend makes of a leading "/"
// and which names it accepts at all (see keyRules).

// MaxKeyLength bounds a remote key or find path. Secrets Manager names stop at 512
// characters, parameter names and their ARNs at 2048, Kubernetes names at 253.
const MaxKeyLength = 2048

// keyRules are one backend's reading of a key.
type keyRules struct {
	// leadingSlash: a leading "/" is part of the name (Parameter Store hierarchies,
	// Secrets Manager names) rather than stripped (Vault).
	leadingSlash bool
	// arnService is the ARN service of keys given as ARNs ("" = ARNs are not keys here)
	// and arnResource the resource type prefix of the name in them.
	arnService, arnResource string
	// secretName: the key is a Kubernetes Secret name (a DNS subdomain, no "/").
	secretName bool
}

func rulesOf(store esv1.GenericStore) keyRules {
	if store == nil || store.GetSpec().Provider == nil {
		return keyRules{leadingSlash: true} // unknown store: the spelling rules only
	}
	p := store.GetSpec().Provider
	switch {
	case p.AWS != nil:
		return awsRules(p.AWS)
	case p.Vault != nil:
		return keyRules{}
	case p.Kubernetes != nil:
		return keyRules{secretName: true}
	}
	return keyRules{leadingSlash: true} // fake: literal names
}

func awsRules(spec *esv1.AWSProvider) keyRules {
	if spec.Service == esv1.AWSServiceParameterStore {
		return keyRules{leadingSlash: true, arnService: "ssm", arnResource: "parameter/"}
	}
	return keyRules{leadingSlash: true, arnService: "secretsmanager", arnResource: "secret:"}
}

// CheckKey refuses a remote key (remoteRef.key, extract.key) that the store's backend would
// read as another path, or that it cannot name at all. field names the key in the spec,
// e.g. spec.data[0].remoteRef.key. The error is a ConfigError: fixing the spec is the only
// way out.
func CheckKey(store esv1.GenericStore, field, key string) error {
	if msg := keyProblem(rulesOf(store), key, false); msg != "" {
		return Configf("%s %q %s", field, clip(key), msg)
	}
	return nil
}

// CheckFindPath refuses a find.path that the backend would read as another path. A trailing
// "/" is allowed: a find path names a folder.
func CheckFindPath(store esv1.GenericStore, field, p string) error {
	r := rulesOf(store)
	if r.secretName {
		return nil // the Kubernetes provider has no find.path (it says so itself)
	}
	r.arnService = "" // a find path is a prefix, never an ARN
	if msg := keyProblem(r, p, true); msg != "" {
		return Configf("%s %q %s", field, clip(p), msg)
	}
	return nil
}

// CheckDataFrom checks the key or find path of dataFrom[i].
func CheckDataFrom(store esv1.GenericStore, i int, from esv1.ExternalSecretDataFromRemoteRef) error {
	switch {
	case from.Extract != nil:
		return CheckKey(store, fmt.Sprintf("spec.dataFrom[%d].extract.key", i), from.Extract.Key)
	case from.Find != nil && from.Find.Path != nil:
		return CheckFindPath(store, fmt.Sprintf("spec.dataFrom[%d].find.path", i), *from.Find.Path)
	}
	return nil
}

// keyProblem says what is wrong with key under r, or "" when nothing is.
func keyProblem(r keyRules, key string, folder bool) string {
	if len(key) > MaxKeyLength {
		return fmt.Sprintf("is %d bytes long; the limit is %d: name the secret by a shorter path", len(key), MaxKeyLength)
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return "has a control character: write the name as the backend stores it"
		}
	}
	if r.secretName {
		if len(validation.IsDNS1123Subdomain(key)) > 0 {
			return `is not a Kubernetes Secret name (lowercase letters, digits, "-" and ".", at most 253 characters, ` +
				`no "/"): name a Secret of the remote namespace`
		}
		return ""
	}
	name := key
	if r.arnService != "" && strings.HasPrefix(key, "arn:") {
		var msg string
		if name, msg = arnName(r, key); msg != "" {
			return msg
		}
	}
	return spellingProblem(r, name, folder)
}

// arnName returns the secret or parameter name an ARN key names.
func arnName(r keyRules, key string) (string, string) {
	a, err := arn.Parse(key)
	if err != nil {
		return "", "is not a valid ARN: write the name, or the full ARN of the secret"
	}
	if a.Service != r.arnService || !strings.HasPrefix(a.Resource, r.arnResource) {
		return "", fmt.Sprintf("is an ARN of %s %q, but this store reads %s:%s…: name a secret of the store's service",
			a.Service, a.Resource[:strings.IndexAny(a.Resource+":", ":/")], r.arnService, r.arnResource)
	}
	name := strings.TrimPrefix(a.Resource, r.arnResource)
	if r.arnService == "ssm" && strings.Contains(name, "/") {
		name = "/" + name // a hierarchical parameter's ARN drops its leading "/"
	}
	if name == "" || name == "/" {
		return "", "is an ARN without a secret name: write the full ARN of one secret"
	}
	return name, ""
}

// spellingProblem checks the "/"-separated segments of a name.
func spellingProblem(r keyRules, name string, folder bool) string {
	const fix = ": use the path as the backend stores it"
	if strings.HasPrefix(name, "/") && !r.leadingSlash {
		return `starts with "/", which Vault strips` + fix + `, without the leading "/"`
	}
	if strings.Contains(name, `\`) {
		return `has a backslash, which some backends and proxies read as "/"` + fix
	}
	rest := name
	if r.leadingSlash {
		rest = strings.TrimPrefix(rest, "/")
	}
	if folder {
		rest = strings.TrimSuffix(rest, "/")
		if rest == "" {
			return "" // the root: no path (externalsecret-find-without-path says so)
		}
	}
	for _, seg := range strings.Split(rest, "/") {
		dec, err := url.PathUnescape(seg)
		switch {
		case seg == "":
			if strings.HasSuffix(name, "/") && !folder {
				return `ends with "/", which names no secret` + fix
			}
			return `has an empty segment ("//")` + fix
		case seg == "." || seg == "..":
			return fmt.Sprintf("has a %q segment%s", seg, fix)
		case err == nil && dec != seg && (dec == "." || dec == ".." || strings.ContainsAny(dec, `/\`)):
			return fmt.Sprintf("has a percent-encoded segment %q (%q)%s", seg, dec, fix)
		}
	}
	return ""
}

// clip shortens a hostile key in a message (keys are names, not values, but a message
// need not repeat 2 KiB of one).
func clip(s string) string {
	if len(s) <= 256 {
		return s
	}
	return s[:256] + "…"
}

// Names is how a policy compares what an entry reads with allowed prefixes.
type Names struct {
	// Names are the readings of the key as full names (store prefix or Vault mount
	// included, ARNs parsed): the name the backend reads and, when a key spells it
	// differently, the cleaned spelling too. Every one must be allowed.
	Names []string
	// Relative are the same readings relative to a Vault store's mount, when the store
	// pins the mount (spec.provider.vault.path), so that prefixes may be written either way.
	Relative []string
	// Scope is how a name reads: ScopeExact, ScopeDir or ScopePrefix.
	Scope string
	// LeadingSlashOptional: Parameter Store, where "/prod/db" and "prod/db" are compared
	// alike (hierarchical names always start with "/").
	LeadingSlashOptional bool
}

// The scopes of Names (policy input: entries[].scope).
const (
	// ScopeExact: the name of one secret.
	ScopeExact = "exact"
	// ScopeDir: a find that lists a folder (Vault, Parameter Store).
	ScopeDir = "dir"
	// ScopePrefix: a find that matches every name that starts with the string (Secrets
	// Manager).
	ScopePrefix = "prefix"
)

// RemoteNames returns the names a key (or, with find, a find path) reads through store (nil
// when the store cannot be resolved: the key is read as written).
func RemoteNames(store esv1.GenericStore, key string, find bool) Names {
	n := Names{Scope: ScopeExact}
	var p *esv1.SecretStoreProvider
	if store != nil {
		p = store.GetSpec().Provider
	}
	switch {
	case p != nil && p.Vault != nil:
		return vaultNames(p.Vault, key, find)
	case p != nil && p.AWS != nil:
		return awsNames(p.AWS, key, find)
	case find:
		n.Scope = ScopePrefix
	}
	n.Names = readings(key)
	return n
}

func awsNames(spec *esv1.AWSProvider, key string, find bool) Names {
	r := awsRules(spec)
	n := Names{Scope: ScopeExact}
	name := spec.Prefix + key
	var base string // a Secrets Manager ARN's name without its random suffix
	if !find && strings.HasPrefix(key, "arn:") {
		if an, msg := arnName(r, key); msg == "" {
			name = an // an ARN names the secret whatever the store's prefix
			if m := smARNSuffix.FindStringIndex(an); m != nil && spec.Service != esv1.AWSServiceParameterStore {
				base = an[:m[0]]
			}
		}
	}
	if spec.Service == esv1.AWSServiceParameterStore {
		n.LeadingSlashOptional = true
		name = strings.TrimPrefix(name, "/")
		if find {
			n.Scope = ScopeDir // GetParametersByPath lists a hierarchy level
			name = strings.TrimSuffix(name, "/")
		}
	} else if find {
		n.Scope = ScopePrefix // ListSecrets' name filter is a string prefix
	}
	n.Names = readings(name)
	if base != "" {
		// Secrets Manager resolves an ARN ending in "-" and six characters as the full ARN
		// of the secret named without them, or as the partial ARN of the secret named with
		// them: both names must be allowed ("team-a-AbCdEf" under the prefix "team-a-" is
		// the secret "team-a").
		n.Names = append(n.Names, readings(base)...)
	}
	return n
}

// smARNSuffix is the suffix Secrets Manager adds to a secret's name in its ARN: "-" and six
// random letters or digits.
var smARNSuffix = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)

// vaultNames reads a key as the Vault client does: mount (the store's path, else the key's
// first segment) and the rest, joined and cleaned. A KV v2 read goes to <mount>/data/<rest>,
// so ".." segments can also leave the data/ tree of the mount (secret/config, another
// engine, auth/token/...): the name is then the cleaned API path itself.
func vaultNames(spec *esv1.VaultProvider, key string, find bool) Names {
	n := Names{Scope: ScopeExact}
	if find {
		n.Scope = ScopeDir
	}
	mount := ""
	if spec.Path != nil {
		mount = strings.Trim(*spec.Path, "/")
	}
	k := strings.Trim(key, "/")
	var rest string
	switch {
	case mount != "":
		rest = strings.TrimPrefix(k, mount+"/")
	case find:
		return Names{Names: []string{path.Clean("/" + k)[1:]}, Scope: ScopeDir} // the provider refuses it anyway
	default:
		mount, rest, _ = strings.Cut(k, "/")
	}
	api := mount + "/" + rest
	if spec.Version != esv1.VaultKVStoreV1 {
		api = mount + "/data/" + rest
	}
	cleaned := strings.TrimPrefix(path.Join("/", api), "/")
	name := cleaned
	if spec.Version != esv1.VaultKVStoreV1 {
		if in, ok := strings.CutPrefix(cleaned, mount+"/data/"); ok {
			name = mount + "/" + in
		} else if cleaned == mount+"/data" {
			name = mount
		}
	}
	n.Names = []string{name}
	if spec.Path != nil && mount != "" {
		if in, ok := strings.CutPrefix(name, mount+"/"); ok {
			n.Relative = []string{in}
		} else if name == mount {
			n.Relative = []string{""}
		}
	}
	return n
}

// readings returns name and, when it differs, its cleaned spelling (what a backend that
// cleans paths would read): a policy allows the key only if both are allowed.
func readings(name string) []string {
	out := []string{name}
	if name == "" {
		return out
	}
	lead := strings.HasPrefix(name, "/")
	c := path.Clean("/" + name)
	if !lead {
		c = strings.TrimPrefix(c, "/")
	}
	if strings.HasSuffix(name, "/") && c != "/" {
		c += "/"
	}
	if c != name && c != "." {
		out = append(out, c)
	}
	return out
}
