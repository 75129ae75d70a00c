package chart

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vigil-dev/vigil/test/harness"
)

// esoExtraArgs is the extraArgs map of an ESO values file: ESO's controller flags, rendered
// --flag=value after the chart's own flags. Leader election is on only through ESO's name
// (leaderElect: false), under a Lease name of its own.
const esoExtraArgs = `leaderElect: false
extraArgs:
  loglevel: debug
  zap-time-encoding: iso8601
  concurrent: 4
  enable-leader-election: true
  leader-election-id: eso-extraargs
  client-qps: 40
  client-burst: 80
  controller-class: default
  enable-cluster-store-reconciler: true
  enable-secrets-caching: false
  enable-flood-gate: true
  store-requeue-interval: 10m
`

// TestESOExtraArgsStartController installs the chart with an ESO values file's extraArgs and
// runs the real controller with the Deployment's arguments (as TestControllerWithChartIdentity
// does): it must start and become ready, elect a leader through ESO's --enable-leader-election,
// and log one warning for each ESO flag it ignores.
func TestESOExtraArgsStartController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	args := deploymentArgs(t, find(render(t, writeValues(t, esoExtraArgs)), "Deployment", "vigil"))
	for _, want := range []string{"--loglevel=debug", "--enable-leader-election=true", "--client-qps=40",
		"--enable-flood-gate=true", "--leader-elect=false"} {
		if !slices.Contains(args, want) {
			t.Fatalf("the Deployment's args lack %s: %v", want, args)
		}
	}

	run := startChartController(ctx, t, esoExtraArgs) // returns once /readyz is ok
	err := harness.WaitFor(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		var lease unstructured.Unstructured
		lease.SetAPIVersion("coordination.k8s.io/v1")
		lease.SetKind("Lease")
		if err := cp.Client.Get(ctx, types.NamespacedName{Namespace: releaseNamespace, Name: "eso-extraargs"}, &lease); err != nil {
			return false, nil
		}
		holder, _, _ := unstructured.NestedString(lease.Object, "spec", "holderIdentity")
		return holder != "", nil
	})
	if err != nil {
		t.Errorf("no leader holds Lease eso-extraargs: --enable-leader-election or --leader-election-id not applied")
	}
	run.stopAndCheckLog(t)

	log, err := os.ReadFile(run.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]int{
		"--enable-flood-gate=true": 1, "--store-requeue-interval=10m0s": 1, "--enable-secrets-caching=false": 0,
	} {
		if got := countLines(string(log), "WARNING: ESO flag ignored", flag); got != want {
			t.Errorf("%d warnings about %s, want %d:\n%s", got, flag, want, tail(string(log), 40))
		}
	}
	if countLines(string(log), "ESO flag accepted: Vigil behaves so already", "--enable-secrets-caching=false") != 1 {
		t.Errorf("no note that --enable-secrets-caching=false is what Vigil does")
	}
}

// countLines counts the lines holding every one of want.
func countLines(log string, want ...string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, w := range want {
			all = all && strings.Contains(line, w)
		}
		if all {
			n++
		}
	}
	return n
}
