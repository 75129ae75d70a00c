// Command vigil is Vigil's one binary: `vigil controller` runs the operator, `vigil version`
// prints the build. Wiring is explicit here: the provider registry is built from the
// providers this binary ships, and handed to the manager.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/builtin"
)

const usage = `vigil syncs secrets from external stores into Kubernetes Secrets.

Usage:
  vigil controller [flags]   run the operator (see 'vigil controller -h')
  vigil lint [flags] PATH... check manifests against the policies, offline (see 'vigil lint -h')
  vigil version              print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit code: 0 success, 1 failure at run time, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "controller":
		return runController(args[1:], stderr)
	case "lint":
		return runLint(args[1:], os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "vigil: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return "vigil " + info.Main.Version
	}
	return "vigil (devel)"
}

// registry lists the providers this binary serves.
func registry(rec *metrics.Recorder, requestTimeout time.Duration, allowHTTPHosts []string, apiServer string) *providers.Registry {
	return builtin.Registry(builtin.Options{Observe: rec.ProviderCall, RequestTimeout: requestTimeout, AllowHTTPHosts: allowHTTPHosts, LocalAPIServer: apiServer})
}

func runController(args []string, stderr io.Writer) int {
	o := manager.Defaults()
	flags := controllerFlags(&o)
	fs := flags.fs
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vigil controller: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.Concurrent < 1 || o.Rollout.MaxConcurrent < 1 {
		fmt.Fprintf(stderr, "vigil controller: --concurrent and --rollout-concurrency must be at least 1, got %d and %d\n", o.Concurrent, o.Rollout.MaxConcurrent)
		return 2
	}
	if o.TemplateTimeout <= 0 || o.TemplateTimeout > time.Minute {
		fmt.Fprintf(stderr, "vigil controller: --template-timeout must be above 0 and at most 1m, got %s\n", o.TemplateTimeout)
		return 2
	}
	if o.ShardCount < 1 {
		fmt.Fprintf(stderr, "vigil controller: --shard-count must be at least 1, got %d\n", o.ShardCount)
		return 2
	}
	if o.KubeQPS <= 0 || o.KubeBurst < 1 || o.Reads.QPS < 0 || o.Reads.Burst < 0 {
		fmt.Fprintf(stderr, "vigil controller: --kube-api-qps must be above 0, --provider-qps and --provider-burst 0 or more, and --kube-api-burst at least 1; got %g/%d and %g/%d\n", o.KubeQPS, o.KubeBurst, o.Reads.QPS, o.Reads.Burst)
		return 2
	}
	if o.Rollout.Debounce < 0 || o.Rollout.MinInterval < 0 || o.Rollout.MaxPerHour < 0 {
		fmt.Fprintln(stderr, "vigil controller: --rollout-debounce, --rollout-min-interval and --rollout-max-per-hour cannot be negative")
		return 2
	}
	ctrl.SetLogger(manager.CapVerbosity(zap.New(zap.UseFlagOptions(&flags.zap))))
	log := ctrl.Log.WithName("setup")
	if flags.kubeconfig != "" {
		os.Setenv("KUBECONFIG", flags.kubeconfig)
	}
	cfg, err := config.GetConfig()
	if err != nil {
		log.Error(err, "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, or run in a cluster")
		return 1
	}
	ctx := ctrl.SetupSignalHandler()
	// IAM is global; the region only picks the endpoint. Without AWS credentials the
	// guardrails report IAM as unknown instead of failing.
	if awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1")); err == nil {
		reader := policy.NewIAMReader(awsCfg, flags.iamTTL)
		reader.AuditRoleName = flags.iamAuditRole
		o.IAM = reader
	} else {
		log.Error(err, "no AWS configuration for IAM inspection; IAM policies will be reported as unknown")
	}
	rec, err := metrics.New(crmetrics.Registry)
	if err != nil {
		log.Error(err, "registering metrics")
		return 1
	}
	mgr, err := manager.New(ctx, cfg, registry(rec, flags.requestTimeout, flags.allowHTTPHosts, cfg.Host), rec, o)
	if err != nil {
		log.Error(err, "setting up the controller")
		return 1
	}
	log.Info("starting controller", "version", version(), "namespace", o.Namespace)
	if err := mgr.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error(err, "controller stopped")
		return 1
	}
	return 0
}
