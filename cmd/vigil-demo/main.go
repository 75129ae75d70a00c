// Command demo runs Vigil end to end on this machine: a local control plane
// (kube-apiserver, etcd, kube-controller-manager built from Go modules), a moto server
// standing in for AWS, `bin/vigil controller`, and the seed manifests a user starts from.
// It shows what a user sees, rotates the remote password and shows the Secret follow, then
// keeps everything running for kubectl until Ctrl-C (or exits at once with -exit).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

func main() {
	exit := flag.Bool("exit", false, "stop after the walkthrough instead of waiting for Ctrl-C")
	flag.Parse()
	if err := run(*exit); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func run(exitAfter bool) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	root := harness.RepoRoot()
	workDir, err := os.MkdirTemp("", "vigil-demo-")
	if err != nil {
		return err
	}

	step("Starting moto (the AWS stand-in) on a loopback port")
	moto, err := harness.StartMoto()
	if err != nil {
		return err
	}
	defer moto.Close()
	fmt.Println("    AWS_ENDPOINT_URL =", moto.URL)

	step("Starting kube-apiserver and etcd (a few seconds)")
	cp, err := harness.StartControlPlane(filepath.Join(root, "config", "crd-thirdparty"))
	if err != nil {
		return err
	}
	defer cp.Stop()
	if err := cp.StartGarbageCollector(filepath.Join(workDir, "kube-controller-manager.log")); err != nil {
		return err
	}
	kubeconfig, err := cp.AdminKubeconfig()
	if err != nil {
		return err
	}
	fmt.Println("    kubeconfig:", kubeconfig)

	step("Storing prod/payments/db in Secrets Manager (moto)")
	seed := harness.SeedDir()
	value, err := os.ReadFile(filepath.Join(seed, "remote-secret-prod-payments-db.json"))
	if err != nil {
		return err
	}
	awsCfg, err := moto.AWSConfig(ctx)
	if err != nil {
		return err
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/payments/db"), SecretString: aws.String(string(value))}); err != nil {
		return err
	}

	step("Creating the IAM role payments-eso with the seed's least-privilege policy (moto IAM)")
	scoped, err := os.ReadFile(filepath.Join(seed, "iam-policy-scoped.json"))
	if err != nil {
		return err
	}
	iamc := iam.NewFromConfig(awsCfg)
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("payments-eso"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		return err
	}
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("payments-eso"), PolicyName: aws.String("secrets"), PolicyDocument: aws.String(string(scoped))}); err != nil {
		return err
	}
	fmt.Println("    secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/*")

	step("Starting bin/vigil controller")
	logPath := filepath.Join(workDir, "vigil.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	ctrlCmd := exec.Command(filepath.Join(root, "bin", "vigil"), "controller",
		"--kubeconfig", kubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	ctrlCmd.Stdout, ctrlCmd.Stderr = logFile, logFile
	if err := ctrlCmd.Start(); err != nil {
		return fmt.Errorf("starting bin/vigil (run `make build`): %w", err)
	}
	defer func() { _ = ctrlCmd.Process.Signal(syscall.SIGTERM); _ = ctrlCmd.Wait() }()
	fmt.Println("    logs:", logPath)

	step("Applying the seed manifests unchanged (external-secrets.io/v1beta1)")
	files, _ := filepath.Glob(filepath.Join(seed, "*.yaml"))
	slices.Sort(files)
	for _, f := range files {
		objs, err := harness.Apply(ctx, cp.Client, f)
		if err != nil {
			return err
		}
		for _, o := range objs {
			fmt.Printf("    %s/%s %s applied\n", strings.ToLower(o.GetKind()), o.GetName(), o.GetAPIVersion())
		}
	}

	step("Waiting for both ExternalSecrets to report SecretSynced")
	for _, name := range []string{"db-credentials", "app-config"} {
		if err := waitSynced(ctx, cp.Client, name, ""); err != nil {
			return err
		}
	}
	fmt.Println("\n$ kubectl get externalsecrets -n payments")
	if err := printTable(ctx, cp, "/apis/external-secrets.io/v1/namespaces/payments/externalsecrets"); err != nil {
		return err
	}
	fmt.Println("\n$ kubectl get secretstores -n payments")
	if err := printTable(ctx, cp, "/apis/external-secrets.io/v1/namespaces/payments/secretstores"); err != nil {
		return err
	}
	before, err := printSecret(ctx, cp.Client, "db-credentials")
	if err != nil {
		return err
	}
	if _, err := printSecret(ctx, cp.Client, "app-config"); err != nil {
		return err
	}

	step("Rotating the password in Secrets Manager and forcing a sync")
	rotated := strings.Replace(string(value), "s3cr3t-rotated-0001", "s3cr3t-rotated-0002", 1)
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("prod/payments/db"), SecretString: aws.String(rotated)}); err != nil {
		return err
	}
	fmt.Printf("$ kubectl annotate es db-credentials -n payments %s=$(date +%%s) --overwrite\n", esv1.AnnotationForceSync)
	var es esv1.ExternalSecret
	key := types.NamespacedName{Namespace: "payments", Name: "db-credentials"}
	if err := cp.Client.Get(ctx, key, &es); err != nil {
		return err
	}
	patch := client.MergeFrom(es.DeepCopy())
	if es.Annotations == nil {
		es.Annotations = map[string]string{}
	}
	es.Annotations[esv1.AnnotationForceSync] = fmt.Sprint(time.Now().Unix())
	if err := cp.Client.Patch(ctx, &es, patch); err != nil {
		return err
	}
	if err := waitSynced(ctx, cp.Client, "db-credentials", before); err != nil {
		return err
	}
	after, err := printSecret(ctx, cp.Client, "db-credentials")
	if err != nil {
		return err
	}
	fmt.Printf("    data-hash changed: %s -> %s\n", before, after)

	step("Guardrails: the audit's PolicyReport, and vigil lint on the seed with a wildcard IAM policy")
	fmt.Println("(waiting for the first policy audit: it runs up to a minute after the controller starts, so that a restart's sync pass goes first)")
	fmt.Println("$ kubectl get policyreports -n payments")
	if err := waitReport(ctx, cp.Client); err != nil {
		return err
	}
	if err := printTable(ctx, cp, "/apis/wgpolicyk8s.io/v1alpha2/namespaces/payments/policyreports"); err != nil {
		return err
	}
	lintArgs := []string{"lint", "--aws-role-policy", "arn:aws:iam::123456789012:role/payments-eso=" + filepath.Join(seed, "iam-policy-wildcard.json"), seed}
	fmt.Printf("$ vigil %s\n", strings.Join(lintArgs, " "))
	lint := exec.Command(filepath.Join(root, "bin", "vigil"), lintArgs...)
	lint.Stdout, lint.Stderr = os.Stdout, os.Stderr
	if err := lint.Run(); err != nil {
		fmt.Printf("    exit status: %v (a Deny finding fails CI)\n", err)
	}

	step("Done. Look around with kubectl:")
	fmt.Printf("    export KUBECONFIG=%s\n    kubectl get es,ss -A\n    kubectl describe es db-credentials -n payments\n", kubeconfig)
	if exitAfter {
		return nil
	}
	fmt.Println("\nEverything keeps running; press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Println("\nStopping the controller, the control plane and moto.")
	return nil
}

// waitSynced waits until the ExternalSecret reports SecretSynced and, when oldHash is
// set, its Secret's data hash differs from oldHash.
func waitSynced(ctx context.Context, c client.Client, name, oldHash string) error {
	fmt.Printf("    waiting for externalsecret/%s ...\n", name)
	var es esv1.ExternalSecret
	err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, types.NamespacedName{Namespace: "payments", Name: name}, &es); err != nil {
			return false, err
		}
		ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady)
		if ready == nil || ready.Reason != esv1.ReasonSecretSynced {
			return false, nil
		}
		if oldHash == "" {
			return true, nil
		}
		var s corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: "payments", Name: name}, &s); err != nil {
			return false, err
		}
		return s.Annotations[esv1.AnnotationDataHash] != oldHash, nil
	})
	if err != nil {
		msg := ""
		if ready := apimeta.FindStatusCondition(es.Status.Conditions, esv1.ConditionReady); ready != nil {
			msg = ready.Reason + ": " + ready.Message
		}
		return fmt.Errorf("externalsecret/%s did not sync (%s): %w", name, msg, err)
	}
	return nil
}

// waitReport waits for the audit's PolicyReport in payments.
func waitReport(ctx context.Context, c client.Client) error {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("wgpolicyk8s.io/v1alpha2")
	u.SetKind("PolicyReport")
	return harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, types.NamespacedName{Namespace: "payments", Name: "vigil-policy"}, u)
		return err == nil, client.IgnoreNotFound(err)
	})
}

// printSecret prints a Secret's keys and sizes, never its values, and returns its hash.
func printSecret(ctx context.Context, c client.Client, name string) (string, error) {
	var s corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: "payments", Name: name}, &s); err != nil {
		return "", err
	}
	fmt.Printf("\nSecret payments/%s (owner: %s)\n", name, ownerOf(&s))
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Printf("    %-10s %d bytes\n", k, len(s.Data[k]))
	}
	hash := s.Annotations[esv1.AnnotationDataHash]
	fmt.Printf("    %s: %s\n", esv1.AnnotationDataHash, hash)
	return hash, nil
}

func ownerOf(s *corev1.Secret) string {
	for _, o := range s.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return o.Kind + "/" + o.Name
		}
	}
	return "none"
}

// printTable prints what `kubectl get` prints: the server's table for the resource.
func printTable(ctx context.Context, cp *harness.ControlPlane, path string) error {
	table, err := harness.GetTable(ctx, cp.Config, path)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 3, ' ', 0)
	var idx []int
	var head []string
	for i, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			idx = append(idx, i)
			head = append(head, strings.ToUpper(c.Name))
		}
	}
	fmt.Fprintln(w, strings.Join(head, "\t"))
	for _, row := range table.Rows {
		var cells []string
		for _, i := range idx {
			cells = append(cells, harness.FormatCell(row.Cells[i], table.ColumnDefinitions[i].Format, table.ColumnDefinitions[i].Type))
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	return w.Flush()
}
