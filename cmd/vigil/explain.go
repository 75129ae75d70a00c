package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/manager"
	"github.com/vigil-dev/vigil/policy"
)

// maxExplainEvents is how many of the ExternalSecret's latest events explain prints.
const maxExplainEvents = 5

// newExplainCommand is `vigil explain es NAME -n NS`: why an ExternalSecret is (not)
// synced, from the cluster — the Ready condition (the controller's explanation of a failed
// read), the latest events, the store's status, and the policy verdicts of the store and
// the ExternalSecret (the gate's evaluation, with the cluster's ClusterSecretPolicies).
func newExplainCommand() *cobra.Command {
	var kubeconfig, namespace string
	cmd := &cobra.Command{
		Use:     "explain es NAME",
		Short:   "explain why an ExternalSecret is or is not synced",
		Example: "  vigil explain es db -n app",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if k := args[0]; k != "es" && k != "externalsecret" && k != "externalsecrets" {
				return fmt.Errorf("explain knows the kind es (ExternalSecret), not %q", k)
			}
			err := explainES(cmd.Context(), cmd.OutOrStdout(), kubeconfig, types.NamespacedName{Namespace: namespace,
				Name: args[1]})
			if err != nil {
				return failed(err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "path to a kubeconfig (default: $KUBECONFIG, then in-cluster)")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace of the ExternalSecret")
	return cmd
}

func explainES(ctx context.Context, out io.Writer, kubeconfig string, key types.NamespacedName) error {
	cfg, err := clusterConfig(kubeconfig)
	if err != nil {
		return err
	}
	scheme, err := manager.NewScheme()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	var es esv1.ExternalSecret
	if err := c.Get(ctx, key, &es); err != nil {
		return err
	}
	fmt.Fprintf(out, "ExternalSecret %s/%s\n", es.Namespace, es.Name)
	printReady(out, es.Status.Conditions)
	printEvents(ctx, out, c, &es)
	store, serr := getStore(ctx, c, es.Spec.SecretStoreRef, es.Namespace)
	if serr != nil {
		fmt.Fprintf(out, "Store %s %q: %s\n", es.Spec.SecretStoreRef.Kind, es.Spec.SecretStoreRef.Name,
			apierrors.ReasonForError(serr))
		store = nil
	} else if store != nil {
		fmt.Fprintf(out, "Store %s %q\n", store.GetKind(), store.GetName())
		printReady(out, store.GetStatus().Conditions)
	}
	return printVerdicts(ctx, out, c, &es, store)
}

func printReady(out io.Writer, conds []metav1.Condition) {
	ready := apimeta.FindStatusCondition(conds, esv1.ConditionReady)
	if ready == nil {
		fmt.Fprintln(out, "  Ready: not reported yet")
		return
	}
	fmt.Fprintf(out, "  Ready=%s %s: %s\n", ready.Status, ready.Reason, ready.Message)
}

// printEvents prints the latest events about the ExternalSecret, newest last.
func printEvents(ctx context.Context, out io.Writer, c client.Client, es *esv1.ExternalSecret) {
	var events eventsv1.EventList
	if err := c.List(ctx, &events, client.InNamespace(es.Namespace)); err != nil {
		fmt.Fprintf(out, "Events: cannot be listed (%s)\n", apierrors.ReasonForError(err))
		return
	}
	mine := slices.DeleteFunc(events.Items, func(e eventsv1.Event) bool {
		return e.Regarding.Kind != esv1.ExternalSecretKind || e.Regarding.Name != es.Name
	})
	slices.SortFunc(mine, func(a, b eventsv1.Event) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	if len(mine) > maxExplainEvents {
		mine = mine[len(mine)-maxExplainEvents:]
	}
	fmt.Fprintln(out, "Events:")
	for _, e := range mine {
		fmt.Fprintf(out, "  %s %s: %s\n", e.Type, e.Reason, e.Note)
	}
}

// printVerdicts prints the policy violations of the store and the ExternalSecret, as the
// controller's gate judges them (without IAM: the CLI reads no role's policies).
func printVerdicts(ctx context.Context, out io.Writer, c client.Client, es *esv1.ExternalSecret,
	store esv1.GenericStore) error {
	holder, err := policy.NewHolder(ctx)
	if err != nil {
		return err
	}
	gate := &policy.Gate{Builder: &policy.Builder{Client: c}, Policies: holder, Op: policy.OpAudit}
	vs, err := gate.ExternalSecret(ctx, es, store)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		fmt.Fprintln(out, "Policies: no violations")
		return nil
	}
	fmt.Fprintln(out, "Policies:")
	for _, v := range vs {
		fmt.Fprintf(out, "  %s %s\n", strings.ToUpper(string(v.Action)), v)
	}
	return nil
}

// getStore reads the store an ExternalSecret names; nil when it names none.
func getStore(ctx context.Context, c client.Client, ref esv1.SecretStoreRef, ns string) (esv1.GenericStore, error) {
	if ref.Name == "" {
		return nil, nil
	}
	if ref.Kind == esv1.ClusterSecretStoreKind {
		var s esv1.ClusterSecretStore
		return &s, c.Get(ctx, types.NamespacedName{Name: ref.Name}, &s)
	}
	var s esv1.SecretStore
	return &s, c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &s)
}
