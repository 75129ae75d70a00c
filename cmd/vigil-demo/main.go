// Command vigil-demo runs Vigil end to end on this machine: a local control plane
// (kube-apiserver, etcd, kube-controller-manager built from Go modules), a moto server
// standing in for AWS, `bin/vigil controller`, and the seed manifests a user starts from.
//
// It shows what a user sees: the seed syncing, a rotation reaching the Secret and rolling
// out a Deployment annotated the Reloader way, the not-synced metric turning on when the
// backend breaks and off when it heals, the shipped alert's state as promtool evaluates it,
// and the guardrails. Then it keeps everything running for kubectl until Ctrl-C (or exits
// at once with -exit). `make demo` builds and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	exit := flag.Bool("exit", false, "stop after the walkthrough instead of waiting for Ctrl-C")
	flag.Parse()
	if err := run(*exit); err != nil {
		fmt.Fprintln(os.Stderr, "vigil-demo:", err)
		os.Exit(1)
	}
}

// run takes the walkthrough's steps in order; the first failure stops it.
func run(exitAfter bool) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	d, err := newDemo(ctx)
	if err != nil {
		return err
	}
	defer d.close()
	steps := []func() error{
		d.startBackend, d.startCluster, d.seedBackend, d.startController,
		d.applySeed, d.showSynced, d.deployApp, d.rotate,
		d.breakBackend, d.healBackend, d.evaluateAlert, d.guardrails,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	d.printDone()
	if exitAfter {
		return nil
	}
	fmt.Println("\nEverything keeps running; press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Println("\nStopping the controller, the control plane and moto.")
	return nil
}
