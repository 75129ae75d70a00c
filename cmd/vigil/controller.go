package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/metrics"
	"github.com/vigil-dev/vigil/policy"
	"github.com/vigil-dev/vigil/providers"
	"github.com/vigil-dev/vigil/providers/builtin"
	"github.com/vigil-dev/vigil/providers/gcp"
)

func newControllerCommand() *cobra.Command {
	o := manager.Defaults()
	flags := controllerFlags(&o)
	cmd := &cobra.Command{
		Use:   "controller [flags]",
		Short: "Run the operator",
		Long: `Run the operator: reconcile ExternalSecrets, stores, ClusterExternalSecrets, policies and
rollouts in the cluster of the kubeconfig (or the in-cluster configuration). Every flag is
listed in docs/configuration.md; the Helm chart sets them from its values.`,
		Example: `  vigil controller --kubeconfig ~/.kube/config --namespace team-a
  vigil controller --leader-elect --shard-count=4 --zap-log-level=debug`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected arguments %q", args)
			}
			return nil
		},
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := checkControllerOptions(o); err != nil {
				return err
			}
			if r := flags.memLimitRatio; r < 0 || r > 1 {
				return fmt.Errorf("--memory-limit-ratio must be from 0 (off) to 1, got %g", r)
			}
			if err := checkESOFlags(flags.fs); err != nil {
				return err
			}
			return runController(o, flags)
		},
	}
	cmd.Flags().AddFlagSet(flags.fs)
	cmd.SetFlagErrorFunc(explainUnknownFlag)
	zapLevels := []string{"debug", "info", "error", "panic"}
	completeWords(cmd, "zap-log-level", zapLevels)
	completeWords(cmd, "zap-stacktrace-level", zapLevels[1:])
	completeWords(cmd, "zap-encoder", []string{"json", "console"})
	completeWords(cmd, "rollout-scope", []string{"managed", "all"})
	return cmd
}

// explainUnknownFlag says where the flags are listed: an ESO values file's extraArgs may
// hold flags of ESO's other components or of a newer ESO.
func explainUnknownFlag(_ *cobra.Command, err error) error {
	if strings.HasPrefix(err.Error(), "unknown flag") || strings.HasPrefix(err.Error(), "unknown shorthand flag") {
		return fmt.Errorf("%w: neither a flag of vigil controller (docs/configuration.md) nor an ESO controller "+
			"flag it accepts (docs/migrate-from-eso.md)", err)
	}
	return err
}

// checkControllerOptions refuses values the manager cannot run with (a usage error).
func checkControllerOptions(o manager.Options) error {
	switch {
	case o.Concurrent < 1 || o.Rollout.MaxConcurrent < 1:
		return fmt.Errorf("--concurrent and --rollout-concurrency must be at least 1, got %d and %d",
			o.Concurrent, o.Rollout.MaxConcurrent)
	case o.TemplateTimeout <= 0 || o.TemplateTimeout > time.Minute:
		return fmt.Errorf("--template-timeout must be above 0 and at most 1m, got %s", o.TemplateTimeout)
	case o.ShardCount < 1:
		return fmt.Errorf("--shard-count must be at least 1, got %d", o.ShardCount)
	case o.KubeQPS <= 0 || o.KubeBurst < 1 || o.Reads.QPS < 0 || o.Reads.Burst < 0:
		return fmt.Errorf("--kube-api-qps must be above 0, --provider-qps and --provider-burst 0 or more, "+
			"and --kube-api-burst at least 1; got %g/%d and %g/%d", o.KubeQPS, o.KubeBurst, o.Reads.QPS, o.Reads.Burst)
	case o.Rollout.Debounce < 0 || o.Rollout.MinInterval < 0 || o.Rollout.MaxPerHour < 0:
		return errors.New("--rollout-debounce, --rollout-min-interval and --rollout-max-per-hour cannot be negative")
	}
	return nil
}

// runController sets up logging, the cluster configuration, IAM inspection and metrics,
// then runs the manager until a signal stops it.
func runController(o manager.Options, flags *cliFlags) error {
	ctrl.SetLogger(manager.CapVerbosity(zap.New(zap.UseFlagOptions(&flags.zap))))
	log := ctrl.Log.WithName("setup")
	logESOFlags(log, flags.fs)
	cfg, err := clusterConfig(flags.kubeconfig)
	if err != nil {
		log.Error(err, "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, or run in a cluster")
		return silent(exitFailure)
	}
	manager.SetStreamingLists(flags.streamingLists)
	ctx := ctrl.SetupSignalHandler()
	setMemoryLimit(ctx, log, flags.memLimitRatio, memlimit.FromCgroup)
	o.IAM = iamReader(ctx, flags)
	rec, err := metrics.New(crmetrics.Registry)
	if err != nil {
		log.Error(err, "registering metrics")
		return silent(exitFailure)
	}
	mgr, err := manager.New(ctx, cfg, registry(rec, flags.requestTimeout, flags.allowHTTPHosts, cfg.Host), rec, o)
	if err != nil {
		log.Error(err, "setting up the controller")
		return silent(exitFailure)
	}
	log.Info("starting controller", "version", version(), "namespace", o.Namespace)
	if err := mgr.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error(err, "controller stopped")
		return silent(exitFailure)
	}
	return nil
}

// clusterConfig loads the kubeconfig of --kubeconfig, else $KUBECONFIG, else the in-cluster
// configuration.
func clusterConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		if err := os.Setenv("KUBECONFIG", kubeconfig); err != nil {
			return nil, err
		}
	}
	return config.GetConfig()
}

// iamReader reads the IAM policies of stores' roles for the guardrails. IAM is global; the
// region only picks the endpoint. Without AWS credentials the guardrails report IAM as
// unknown instead of failing (nil).
func iamReader(ctx context.Context, flags *cliFlags) policy.RolePolicies {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"))
	if err != nil {
		ctrl.Log.WithName("setup").Error(err,
			"no AWS configuration for IAM inspection; IAM policies will be reported as unknown")
		return nil
	}
	reader := policy.NewIAMReader(awsCfg, flags.iamTTL)
	reader.AuditRoleName = flags.iamAuditRole
	return reader
}

// registry lists the providers this binary serves.
func registry(rec *metrics.Recorder, requestTimeout time.Duration, allowHTTPHosts []string,
	apiServer string) *providers.Registry {
	return builtin.Registry(builtin.Options{
		Observe: rec.ProviderCall, RequestTimeout: requestTimeout, AllowHTTPHosts: allowHTTPHosts, LocalAPIServer: apiServer,
		GCPEndpoint: gcpEndpoint(os.Getenv(gcp.EndpointEnv)),
	})
}
