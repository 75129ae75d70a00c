package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/test/harness"
)

// printSecret prints a Secret's keys and sizes, never its values, and returns its hash.
func printSecret(ctx context.Context, c client.Client, name string) (string, error) {
	var s corev1.Secret
	if err := c.Get(ctx, key(name), &s); err != nil {
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
	lines := []string{strings.Join(head, "\t")}
	for _, row := range table.Rows {
		var cells []string
		for _, i := range idx {
			def := table.ColumnDefinitions[i]
			cells = append(cells, harness.FormatCell(row.Cells[i], def.Format, def.Type))
		}
		lines = append(lines, strings.Join(cells, "\t"))
	}
	if _, err := fmt.Fprintln(w, strings.Join(lines, "\n")); err != nil {
		return err
	}
	return w.Flush()
}
