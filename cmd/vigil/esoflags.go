package main

import (
	"fmt"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/vigil-dev/vigil/controllers/manager"
)

// ESO's controller flags (external-secrets' cmd/controller/root.go and its providers' feature
// flags, up to ESO 2.9) are accepted so that an ESO values file's extraArgs keep working:
// those whose feature Vigil has under another name are aliases with ESO's meaning; the others
// are parsed (a malformed value is still a usage error) and ignored with one warning each at
// start. ESO flags with Vigil's name and meaning (--concurrent, --namespace, --controller-class,
// --enable-cluster-store-reconciler, --enable-cluster-external-secret-reconciler,
// --leader-election-*, --zap-time-encoding) are Vigil's own. All are hidden from --help and
// docs/configuration.md, and listed in docs/migrate-from-eso.md.

// esoAliasFlags binds ESO's names of features Vigil has to the same options as Vigil's flags;
// each default is the option's current value, so that defining the alias changes nothing.
func esoAliasFlags(c *cliFlags, o *manager.Options) {
	fs := c.fs
	fs.StringVar(&o.MetricsAddr, "metrics-addr", o.MetricsAddr, "ESO's name of --metrics-bind-address")
	fs.StringVar(&o.ProbeAddr, "live-addr", o.ProbeAddr, "ESO's name of --health-probe-bind-address")
	fs.BoolVar(&o.LeaderElect, "enable-leader-election", o.LeaderElect, "ESO's name of --leader-elect")
	fs.Float64Var(&o.KubeQPS, "client-qps", o.KubeQPS, "ESO's name of --kube-api-qps")
	fs.IntVar(&o.KubeBurst, "client-burst", o.KubeBurst, "ESO's name of --kube-api-burst")
	// ESO parses its level as zap does, so warn, dpanic and fatal are levels too (controller-
	// runtime's --zap-log-level knows debug, info, error, panic and numbers).
	fs.Func("loglevel", "ESO's --loglevel: debug, info, warn, error, dpanic, panic or fatal", func(v string) error {
		var l zapcore.Level
		if err := l.UnmarshalText([]byte(v)); err != nil {
			return err
		}
		c.zap.Level = zap.NewAtomicLevelAt(l)
		return nil
	})
	for _, name := range []string{"metrics-addr", "live-addr", "enable-leader-election", "client-qps", "client-burst",
		"loglevel"} {
		_ = fs.MarkHidden(name)
	}
}

// esoIgnored is an ESO controller flag whose feature Vigil does not have.
type esoIgnored struct {
	name string
	kind flagKind // ESO's type of the flag
	// same is the value Vigil behaves as anyway ("" when none): given with it, the flag is
	// only noted, not warned about.
	same string
	why  string // what Vigil does instead, for the warning
}

// flagKind is the type of an ignored ESO flag, so that its values are parsed as ESO does.
type flagKind int

const (
	kindBool flagKind = iota
	kindInt
	kindDuration
	kindString
)

// same values of bool flags.
const (
	isTrue  = "true"
	isFalse = "false"
)

const (
	whyNoDoppler   = "Vigil has no Doppler provider"
	whyClientTTL   = "Vigil reuses each store's client, and the token it logged in with, for --provider-client-ttl"
	whyNoMetricTLS = "Vigil serves metrics over plain HTTP without authentication; restrict scrapers with a " +
		"NetworkPolicy (chart: networkPolicy.metricsFrom)"
	whyNoGenState = "Vigil keeps no GeneratorState: a generated value lives only in its target Secret"
)

// esoIgnoredFlags lists ESO's controller flags that Vigil parses and ignores.
var esoIgnoredFlags = []esoIgnored{
	{"enable-secret-store-reconciler", kindBool, isTrue, "Vigil always validates SecretStores"},
	{"enable-push-secret-reconciler", kindBool, isFalse, "Vigil has no PushSecret"},
	{"enable-cluster-push-secret-reconciler", kindBool, isFalse, "Vigil has no ClusterPushSecret"},
	{"enable-secrets-caching", kindBool, isFalse,
		"Vigil caches only the Secrets it manages (every Secret with --rollout-scope=all)"},
	{"enable-configmaps-caching", kindBool, isFalse, "Vigil caches ConfigMaps only with --rollout-scope=all"},
	{"enable-managed-secrets-caching", kindBool, isTrue, "Vigil always caches the Secrets it manages"},
	{"enable-secret-api-read-on-cache-mismatch", kindBool, isTrue,
		"Vigil always reads a Secret from the API server when its cache does not hold it and the Secret exists"},
	{"enable-flood-gate", kindBool, isFalse, "Vigil reads through a store whatever its Ready condition says; " +
		"a failing read sets SecretSyncedError naming the store"},
	{"enable-generator-state", kindBool, isFalse, whyNoGenState},
	{"generator-gc-grace-period", kindDuration, "", whyNoGenState},
	{"enable-extended-metric-labels", kindBool, isFalse, "Vigil's metrics carry ESO's standard labels"},
	{"enable-http2", kindBool, isFalse, whyNoMetricTLS},
	{"metrics-secure", kindBool, isFalse, whyNoMetricTLS},
	{"metrics-auth", kindBool, isFalse, whyNoMetricTLS},
	{"metrics-cert-dir", kindString, "", whyNoMetricTLS},
	{"metrics-cert-name", kindString, "tls.crt", whyNoMetricTLS},
	{"metrics-key-name", kindString, "tls.key", whyNoMetricTLS},
	{"store-requeue-interval", kindDuration, "",
		"Vigil validates a store when it changes and then every spec.refreshInterval of the store"},
	{"unsafe-allow-generic-targets", kindBool, isFalse, "Vigil writes Secrets only"},
	{"enable-vault-token-cache", kindBool, "", whyClientTTL},
	{"vault-token-cache-size", kindInt, "", whyClientTTL},
	{"experimental-enable-vault-token-cache", kindBool, "", whyClientTTL},
	{"experimental-vault-token-cache-size", kindInt, "", whyClientTTL},
	{"experimental-enable-aws-session-cache", kindBool, isFalse, whyClientTTL + " (ESO ignores this flag too)"},
	{"experimental-enable-doppler-oidc-cache", kindBool, isFalse, whyNoDoppler},
	{"experimental-doppler-oidc-cache-size", kindInt, "", whyNoDoppler},
	{"doppler-oidc-cache-size", kindInt, "", whyNoDoppler},
	{"doppler-etag-cache-size", kindInt, "", whyNoDoppler},
	{"pulumi-oidc-cache-size", kindInt, "", "Vigil has no Pulumi provider"},
	{"mysterybox-tokens-cache-size", kindInt, "", "Vigil has no Nebius MysteryBox provider"},
	{"mysterybox-connections-cache-size", kindInt, "", "Vigil has no Nebius MysteryBox provider"},
}

// esoRefusedFlags are ESO flags Vigil cannot ignore: another value than Vigil's would render
// every template wrong, so it is a usage error (ESO's default value is accepted).
var esoRefusedFlags = []esoIgnored{
	{"template-left-delimiter", kindString, "{{",
		"Vigil's templates use {{ and }} only; rewrite the templates with them and remove the flag"},
	{"template-right-delimiter", kindString, "}}",
		"Vigil's templates use {{ and }} only; rewrite the templates with them and remove the flag"},
}

// esoIgnoredFlagSet defines the ignored and refused ESO flags, hidden, with ESO's types.
func esoIgnoredFlagSet(fs *pflag.FlagSet) {
	for _, f := range append(append([]esoIgnored{}, esoIgnoredFlags...), esoRefusedFlags...) {
		usage := "ESO's --" + f.name + ", ignored: " + f.why
		switch f.kind {
		case kindBool:
			fs.Bool(f.name, false, usage)
		case kindInt:
			fs.Int(f.name, 0, usage)
		case kindDuration:
			fs.Duration(f.name, 0, usage)
		default:
			fs.String(f.name, f.same, usage)
		}
		_ = fs.MarkHidden(f.name)
	}
}

// checkESOFlags refuses a refused ESO flag given with another value than Vigil's.
func checkESOFlags(fs *pflag.FlagSet) error {
	for _, f := range esoRefusedFlags {
		if v := fs.Lookup(f.name); v != nil && v.Changed && v.Value.String() != f.same {
			return fmt.Errorf("ESO's --%s=%s is not supported: %s", f.name, v.Value.String(), f.why)
		}
	}
	return nil
}

// logESOFlags logs one line for each ignored ESO flag given: a warning naming the flag and
// what Vigil does instead, or a note when Vigil behaves as the value asks anyway.
func logESOFlags(log logr.Logger, fs *pflag.FlagSet) {
	for _, f := range esoIgnoredFlags {
		v := fs.Lookup(f.name)
		if v == nil || !v.Changed {
			continue
		}
		flag := "--" + f.name + "=" + v.Value.String()
		if f.same != "" && v.Value.String() == f.same {
			log.Info("ESO flag accepted: Vigil behaves so already", "flag", flag)
			continue
		}
		log.Info("WARNING: ESO flag ignored", "flag", flag, "why", f.why)
	}
}
