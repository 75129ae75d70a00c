package main

import (
	"flag"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/vigil-dev/vigil/controllers/manager"
)

// cliFlags are the flags of `vigil controller` that are not manager options.
type cliFlags struct {
	fs             *pflag.FlagSet
	kubeconfig     string
	iamTTL         time.Duration
	iamAuditRole   string
	requestTimeout time.Duration // one provider HTTP request, per attempt
	allowHTTPHosts []string      // hosts token-bearing stores may reach over plain http
	memLimitRatio  float64       // share of the container's memory limit for GOMEMLIMIT (memlimit.go)
	streamingLists bool          // client-go's WatchListClient (controllers/manager/watchlist.go)
	zap            zap.Options
}

// controllerFlags defines every flag of `vigil controller`, the manager's on o, in groups.
// docs/configuration.md is generated from this set (TestConfigurationReference), so a new
// flag is documented by its help text; a `word` in backquotes names the flag's value in
// --help.
func controllerFlags(o *manager.Options) *cliFlags {
	c := &cliFlags{fs: pflag.NewFlagSet("vigil controller", pflag.ContinueOnError)}
	serverFlags(c, o)
	leaderFlags(c.fs, o)
	reconcileFlags(c.fs, o)
	providerFlags(c, o)
	rolloutFlags(c.fs, o)
	policyFlags(c, o)
	webhookFlags(c.fs, o)
	// zap binds to a Go flag set; pflag takes its flags over as they are.
	zapFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	c.zap.BindFlags(zapFlags)
	c.fs.AddGoFlagSet(zapFlags)
	// ESO's controller flags, hidden (esoflags.go).
	esoAliasFlags(c, o)
	esoIgnoredFlagSet(c.fs)
	return c
}

// serverFlags: the cluster to talk to, how fast, and the endpoints the controller serves.
func serverFlags(c *cliFlags, o *manager.Options) {
	fs := c.fs
	fs.StringVar(&c.kubeconfig, "kubeconfig", "",
		"path to a kubeconfig; defaults to $KUBECONFIG, then the in-cluster configuration")
	fs.Float64Var(&o.KubeQPS, "kube-api-qps", o.KubeQPS,
		"requests per second to the Kubernetes API server, per resource kind (a client-side limit against a runaway "+
			"loop; API Priority and Fairness shares the server)")
	fs.IntVar(&o.KubeBurst, "kube-api-burst", o.KubeBurst,
		"burst of requests to the Kubernetes API server above --kube-api-qps")
	fs.BoolVar(&c.streamingLists, "streaming-lists", false,
		"informers start with a streaming list (client-go's WatchListClient) instead of a LIST: less API server "+
			"memory for a very large collection, but each start waits about a second for the server's next bookmark. "+
			"The environment variable KUBE_FEATURE_WatchListClient wins over it")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr,
		"address the metrics endpoint binds to; 0 turns it off")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", o.ProbeAddr,
		"address the /healthz and /readyz probes bind to")
	fs.StringVar(&o.PprofAddr, "pprof-bind-address", "",
		"address Go's pprof endpoints (/debug/pprof) bind to, for profiling at scale; empty turns them off")
	fs.Float64Var(&c.memLimitRatio, "memory-limit-ratio", defaultMemoryLimitRatio,
		"Go's soft memory limit (GOMEMLIMIT) as this share of the container's memory limit (its cgroup's), so "+
			"that the garbage collector works harder before the kernel kills the process; 0 turns it off. The "+
			"environment variables GOMEMLIMIT (a limit) and AUTOMEMLIMIT (off, or a ratio) win over it")
}

// leaderFlags: leader election and sharding.
func leaderFlags(fs *pflag.FlagSet, o *manager.Options) {
	fs.BoolVar(&o.LeaderElect, "leader-elect", false,
		"elect a leader so that only one replica reconciles at a time")
	fs.IntVar(&o.ShardCount, "shard-count", 1,
		"split ExternalSecrets, stores and rollouts into this many shards, each with its own leader (a Lease); "+
			"each replica caches only its shards' ExternalSecrets and managed Secrets (label vigil.dev/shard); "+
			"run as many replicas as shards or more: the live replicas share the shards and take over those of "+
			"a replica that stops. Implies leader election")
	fs.StringVar(&o.LeaderElectNS, "leader-election-namespace", "",
		"namespace of the leader election lease; defaults to the pod's namespace")
	fs.StringVar(&o.LeaderElectID, "leader-election-id", "",
		"name of the leader election Lease (and prefix of the shard Leases); empty is vigil.dev-controller")
	fs.DurationVar(&o.ShardLease.LeaseDuration, "leader-election-lease-duration", 0,
		"how long a leader's Lease holds without renewal before another replica takes over; 0 is 15s")
	fs.DurationVar(&o.ShardLease.RenewDeadline, "leader-election-renew-deadline", 0,
		"how long the leader keeps trying to renew its Lease before it gives up; 0 is 10s")
	fs.DurationVar(&o.ShardLease.RetryPeriod, "leader-election-retry-period", 0,
		"time between tries to acquire or renew a Lease; 0 is 2s")
}

// reconcileFlags: what the controller reconciles, and how much at a time.
func reconcileFlags(fs *pflag.FlagSet, o *manager.Options) {
	fs.StringVar(&o.Namespace, "namespace", "", "watch only this namespace; empty watches all")
	fs.StringVar(&o.ControllerClass, "controller-class", o.ControllerClass,
		"handle only stores whose spec.controller is empty or names this class")
	fs.IntVar(&o.Concurrent, "concurrent", o.Concurrent,
		"ExternalSecrets and stores reconciled in parallel, per kind")
	fs.DurationVar(&o.TemplateTimeout, "template-timeout", o.TemplateTimeout,
		"deadline for all the templates of one ExternalSecret (target.template, templateFrom); one that runs "+
			"longer fails that ExternalSecret only, with a reason that names the limit")
	fs.DurationVar(&o.RetryMaxDelay, "retry-max-delay", o.RetryMaxDelay,
		"longest backoff between retries of a failing object")
	fs.BoolVar(&o.ClusterStores, "enable-cluster-store-reconciler", o.ClusterStores,
		"reconcile ClusterSecretStores and let ExternalSecrets use them; false (with --namespace, under a Role "+
			"in that namespace) reads no ClusterSecretStore")
	fs.BoolVar(&o.ClusterExternalSecrets, "enable-cluster-external-secret-reconciler", o.ClusterExternalSecrets,
		"reconcile ClusterExternalSecrets; false (with --namespace, under a Role in that namespace) reads none")
}

// providerFlags: how the secret backends are called.
func providerFlags(c *cliFlags, o *manager.Options) {
	fs := c.fs
	fs.Float64Var(&o.Reads.QPS, "provider-qps", o.Reads.QPS,
		"backend calls per second per store (token bucket) for every store; 0 uses each provider's default: "+
			"AWS 40 (under Parameter Store's default quota), Vault 100, Kubernetes 50, fake none")
	fs.IntVar(&o.Reads.Burst, "provider-burst", o.Reads.Burst,
		"burst of backend calls per store above --provider-qps; 0 is twice --provider-qps (with --provider-qps 0, "+
			"the provider's default)")
	fs.DurationVar(&o.ClientTTL, "provider-client-ttl", o.ClientTTL,
		"how long a provider client and its credentials are reused before they are built again")
	fs.DurationVar(&c.requestTimeout, "provider-request-timeout", 10*time.Second,
		"longest wait for one request to a secret backend (each retry gets its own); a hanging backend then "+
			"fails the sync instead of holding a worker")
	fs.Func("allow-insecure-store-hosts",
		"comma-separated `hosts` (e.g. 127.0.0.1,vault.dev.svc) that Vault and Kubernetes stores may reach over "+
			"plain http; every other server must be https, since these stores send tokens to it. For development "+
			"servers only; the policy rule store-plaintext-credentials (parameter allowHTTPHosts) must allow the "+
			"host too",
		func(v string) error {
			for _, h := range strings.Split(v, ",") {
				if h = strings.TrimSpace(h); h != "" {
					c.allowHTTPHosts = append(c.allowHTTPHosts, h)
				}
			}
			return nil
		})
}

// rolloutFlags: the workloads rolled out when their Secrets change.
func rolloutFlags(fs *pflag.FlagSet, o *manager.Options) {
	fs.BoolVar(&o.Rollouts, "enable-rollouts", o.Rollouts,
		"roll out workloads when the Secrets they consume change; false starts no rollout controller, which "+
			"then needs no RBAC on workloads")
	fs.DurationVar(&o.Rollout.Debounce, "rollout-debounce", o.Rollout.Debounce,
		"how long a Secret change waits before workloads roll, so that a burst of changes makes one rollout")
	fs.DurationVar(&o.Rollout.MinInterval, "rollout-min-interval", o.Rollout.MinInterval,
		"least time between two rollouts of one workload")
	fs.IntVar(&o.Rollout.MaxPerHour, "rollout-max-per-hour", o.Rollout.MaxPerHour,
		"rollouts of one workload per hour; one more is stopped as a loop (0: no limit)")
	fs.IntVar(&o.Rollout.MaxConcurrent, "rollout-concurrency", o.Rollout.MaxConcurrent,
		"rollouts made at the same time, across all workloads")
	fs.StringVar(&o.Rollout.Scope, "rollout-scope", o.Rollout.Scope,
		"which changes roll workloads: managed (the Secrets Vigil writes) or all (every Secret and ConfigMap a "+
			"workload references or names, as Reloader; the controller then caches every Secret and ConfigMap)")
}

// policyFlags: the policy audit and the IAM reads of the guardrails.
func policyFlags(c *cliFlags, o *manager.Options) {
	fs := c.fs
	fs.DurationVar(&o.AuditInterval, "audit-interval", o.AuditInterval,
		"time between full policy audits (they also run when policies change)")
	fs.DurationVar(&c.iamTTL, "iam-cache-ttl", 5*time.Minute,
		"how long the IAM policies of a store's role are reused by the guardrails")
	fs.StringVar(&c.iamAuditRole, "iam-audit-role-name", "",
		"name of a read-only IAM role (iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy, "+
			"iam:ListAttachedRolePolicies, iam:GetPolicy, iam:GetPolicyVersion) that exists in every account whose "+
			"roles stores use; the guardrails assume arn:aws:iam::<the role's account>:role/<name> to read a role "+
			"of another account. Empty: such roles are unknown IAM (see the unknownIAM parameter of "+
			"aws-wildcard-secret-resource)")
}

// webhookFlags: the validating admission webhook and its certificate.
func webhookFlags(fs *pflag.FlagSet, o *manager.Options) {
	fs.BoolVar(&o.Webhook.Enabled, "webhook", false, "serve the validating admission webhook (on in the Helm chart)")
	fs.IntVar(&o.Webhook.Port, "webhook-port", 9443, "port of the admission webhook")
	fs.StringVar(&o.Webhook.CertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs",
		"folder holding the webhook's tls.crt and tls.key")
	fs.StringVar(&o.Webhook.CertSecret, "webhook-cert-secret", "",
		"namespace/name of a Secret in which the controller creates and rotates the webhook certificate (mount "+
			"it at --webhook-cert-dir); empty when cert-manager provides it")
	fs.StringVar(&o.Webhook.DNSName, "webhook-dns-name", "vigil-webhook.vigil-system.svc",
		"DNS name of the webhook Service, for the certificate")
	fs.StringVar(&o.Webhook.ConfigName, "webhook-configuration-name", "vigil",
		"ValidatingWebhookConfiguration whose CA bundle the controller keeps current")
}
