package main

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	"go.uber.org/zap/zapcore"

	"github.com/vigil-dev/vigil/controllers/manager"
)

// esoControllerFlags is every flag of ESO's controller (external-secrets 2.9, cmd/controller/
// root.go and the providers' feature flags, plus flags of earlier releases), with a value
// written as an ESO values file would.
var esoControllerFlags = map[string]string{
	"metrics-addr": ":8080", "metrics-auth": "false", "metrics-secure": "false", "metrics-cert-dir": "/etc/tls",
	"metrics-cert-name": "tls.crt", "metrics-key-name": "tls.key", "controller-class": "default",
	"enable-leader-election": "true", "leader-election-id": "external-secrets-controller",
	"leader-election-lease-duration": "15s", "leader-election-renew-deadline": "10s",
	"leader-election-retry-period": "2s", "concurrent": "2", "client-qps": "50", "client-burst": "100",
	"live-addr": ":8082", "loglevel": "info", "zap-time-encoding": "epoch", "namespace": "team-a",
	"enable-cluster-store-reconciler": "true", "enable-secret-store-reconciler": "true",
	"enable-cluster-external-secret-reconciler": "true", "enable-cluster-push-secret-reconciler": "true",
	"enable-push-secret-reconciler": "true", "enable-secrets-caching": "false", "enable-configmaps-caching": "false",
	"enable-managed-secrets-caching": "true", "enable-secret-api-read-on-cache-mismatch": "true",
	"store-requeue-interval": "5m", "enable-flood-gate": "true", "enable-generator-state": "true",
	"enable-extended-metric-labels": "false", "enable-http2": "false", "unsafe-allow-generic-targets": "false",
	"enable-vault-token-cache": "true", "vault-token-cache-size": "262144",
	"experimental-enable-vault-token-cache": "true", "experimental-vault-token-cache-size": "262144",
	"experimental-enable-aws-session-cache": "true", "experimental-enable-doppler-oidc-cache": "true",
	"experimental-doppler-oidc-cache-size": "100", "doppler-oidc-cache-size": "100",
	"doppler-etag-cache-size": "100", "pulumi-oidc-cache-size": "100", "mysterybox-tokens-cache-size": "100",
	"mysterybox-connections-cache-size": "100", "generator-gc-grace-period": "2m",
	"template-left-delimiter": "{{", "template-right-delimiter": "}}",
}

// Every ESO controller flag parses: with --concurrent=0 appended the command stops at the
// option check (exit 2, naming --concurrent), after every flag was accepted.
func TestESOControllerFlagsAccepted(t *testing.T) {
	args := []string{"controller"}
	for name, value := range esoControllerFlags {
		args = append(args, "--"+name+"="+value)
	}
	code, _, errOut := vigil("", append(args, "--concurrent=0")...)
	if code != exitUsage || !strings.Contains(errOut, "--concurrent and --rollout-concurrency must be at least 1") {
		t.Fatalf("vigil with ESO's flags: exit %d, %q; want the flags accepted", code, errOut)
	}
	// An ESO values file's map renders a bool flag without a value as --flag.
	code, _, errOut = vigil("", "controller", "--enable-leader-election", "--enable-flood-gate", "--concurrent=0")
	if code != exitUsage || !strings.Contains(errOut, "--concurrent and") {
		t.Errorf("bare ESO bool flags: exit %d, %q", code, errOut)
	}
}

// parseController parses a `vigil controller` command line into options.
func parseController(t *testing.T, args ...string) (manager.Options, *cliFlags) {
	t.Helper()
	o := manager.Defaults()
	c := controllerFlags(&o)
	if err := c.fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return o, c
}

// Each ESO name sets the same option, to the same value, as Vigil's flag.
func TestESOAliasesSetVigilsOptions(t *testing.T) {
	for _, tc := range []struct{ eso, vigil string }{
		{"--metrics-addr=:9090", "--metrics-bind-address=:9090"},
		{"--metrics-addr=0", "--metrics-bind-address=0"},
		{"--live-addr=:9091", "--health-probe-bind-address=:9091"},
		{"--enable-leader-election", "--leader-elect"},
		{"--enable-leader-election=true", "--leader-elect=true"},
		{"--client-qps=7.5", "--kube-api-qps=7.5"},
		{"--client-burst=9", "--kube-api-burst=9"},
		{"--loglevel=debug", "--zap-log-level=debug"},
		{"--loglevel=error", "--zap-log-level=error"},
	} {
		esoOpts, esoFlags := parseController(t, tc.eso)
		vigilOpts, vigilFlags := parseController(t, tc.vigil)
		if reflect.DeepEqual(vigilOpts, manager.Defaults()) && vigilFlags.zap.Level == nil {
			t.Fatalf("%s changes nothing: a useless case", tc.vigil)
		}
		if !reflect.DeepEqual(esoOpts, vigilOpts) {
			t.Errorf("%s gives options %+v, %s gives %+v", tc.eso, esoOpts, tc.vigil, vigilOpts)
		}
		if got, want := enabledLevels(esoFlags), enabledLevels(vigilFlags); got != want {
			t.Errorf("%s logs levels %s, %s logs %s", tc.eso, got, tc.vigil, want)
		}
	}
	// The last of the two names wins, as with one flag given twice (the chart's flag, then extraArgs).
	o, _ := parseController(t, "--metrics-bind-address=:1", "--metrics-addr=:2")
	if o.MetricsAddr != ":2" {
		t.Errorf("--metrics-addr after --metrics-bind-address: %q, want :2", o.MetricsAddr)
	}
	// ESO's levels that controller-runtime's flag lacks keep ESO's meaning.
	_, c := parseController(t, "--zap-log-level=debug", "--loglevel=warn")
	if got := enabledLevels(c); got != "warn,error,dpanic,panic,fatal" {
		t.Errorf("--loglevel=warn logs %s", got)
	}
}

// enabledLevels lists the zap levels the options log ("" for zap's default, unset).
func enabledLevels(c *cliFlags) string {
	if c.zap.Level == nil {
		return ""
	}
	var on []string
	for l := zapcore.DebugLevel; l <= zapcore.FatalLevel; l++ {
		if c.zap.Level.Enabled(l) {
			on = append(on, l.String())
		}
	}
	return strings.Join(on, ",")
}

// An ignored ESO flag logs one warning naming it and why; given with the value Vigil behaves
// as anyway, a note instead; not given, nothing.
func TestESOIgnoredFlagsWarn(t *testing.T) {
	var args []string
	for _, f := range esoIgnoredFlags {
		args = append(args, "--"+f.name+"="+otherValue(f))
	}
	lines := logLines(t, args...)
	if len(lines) != len(esoIgnoredFlags) {
		t.Fatalf("%d ignored flags logged %d lines: %s", len(esoIgnoredFlags), len(lines), strings.Join(lines, "\n"))
	}
	for i, f := range esoIgnoredFlags {
		if !strings.Contains(lines[i], "WARNING: ESO flag ignored") || !strings.Contains(lines[i], `"--`+f.name+"=") ||
			!strings.Contains(lines[i], f.why) {
			t.Errorf("--%s: logged %s; want a warning naming the flag and why", f.name, lines[i])
		}
	}

	lines = logLines(t, "--enable-managed-secrets-caching", "--enable-secrets-caching=false", "--loglevel=info")
	if len(lines) != 2 || strings.Contains(strings.Join(lines, ""), "WARNING") {
		t.Errorf("flags Vigil behaves as: want two notes and no warning, got %s", strings.Join(lines, "\n"))
	}
	if lines := logLines(t, "--concurrent=3"); len(lines) != 0 {
		t.Errorf("no ESO flag given, yet logged %s", strings.Join(lines, "\n"))
	}
}

// otherValue is a value of the flag's type Vigil does not behave as.
func otherValue(f esoIgnored) string {
	switch f.kind {
	case kindBool:
		if f.same == isTrue {
			return isFalse
		}
		return isTrue
	case kindInt:
		return "5"
	case kindDuration:
		return "1m"
	}
	return "other"
}

func logLines(t *testing.T, args ...string) []string {
	t.Helper()
	_, c := parseController(t, args...)
	var lines []string
	log := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{})
	logESOFlags(log, c.fs)
	return lines
}

// A flag neither Vigil's nor ESO's, and an ESO template delimiter Vigil cannot honour, are
// usage errors; ESO's default delimiters are accepted.
func TestESOFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--enable-frobnication=true"}, "unknown flag: --enable-frobnication: neither a flag of vigil controller"},
		{[]string{"--cert-dir=/tmp"}, "nor an ESO controller flag it accepts"}, // ESO's webhook, not its controller
		{[]string{"--template-left-delimiter=[["}, "ESO's --template-left-delimiter=[[ is not supported: Vigil's templates use {{ and }}"},
		{[]string{"--template-right-delimiter=]]"}, "--template-right-delimiter=]] is not supported"},
		{[]string{"--loglevel=verbose"}, `invalid argument "verbose" for "--loglevel"`},
		{[]string{"--enable-flood-gate=maybe"}, `invalid argument "maybe" for "--enable-flood-gate"`},
	} {
		code, _, errOut := vigil("", append([]string{"controller"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.says) {
			t.Errorf("vigil controller %v: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.says)
		}
	}
	code, _, errOut := vigil("", "controller", "--template-left-delimiter={{", "--template-right-delimiter=}}", "--concurrent=0")
	if code != exitUsage || !strings.Contains(errOut, "--concurrent and") {
		t.Errorf("ESO's default delimiters: exit %d, %q; want them accepted", code, errOut)
	}
}

// The ESO flags are hidden from --help and docs/configuration.md, and each is in the table
// of docs/migrate-from-eso.md.
func TestESOFlagsDocumented(t *testing.T) {
	_, help, _ := vigil("", "controller", "--help")
	doc, err := os.ReadFile("../../docs/migrate-from-eso.md")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	for name := range esoControllerFlags {
		if !strings.Contains(string(doc), "| `--"+name+"`") {
			t.Errorf("docs/migrate-from-eso.md has no row for ESO's --%s", name)
		}
		o := manager.Defaults()
		if f := controllerFlags(&o).fs.Lookup(name); f != nil && f.Hidden {
			if strings.Contains(help, "--"+name+" ") || strings.Contains(string(ref), "`--"+name+"`") {
				t.Errorf("--%s is hidden, but --help or docs/configuration.md lists it", name)
			}
		}
	}
}
