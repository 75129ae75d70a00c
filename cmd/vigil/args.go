package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// normaliseArgs rewrites Go-flag-style single-dash long flags (-kubeconfig=x, -leader-elect)
// to the double-dash form pflag accepts, so command lines written for the flag package that
// vigil used before cobra keep working. Only names of long flags some command defines are
// rewritten, never a flag's value (-x after a flag that takes one) nor anything after "--";
// one-letter shorthands (-o, -f) are left as they are.
func normaliseArgs(root *cobra.Command, args []string) []string {
	takesValue := longFlags(root)
	out := make([]string, 0, len(args))
	valueNext := false
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if valueNext {
			out = append(out, a)
			valueNext = false
			continue
		}
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(a) > 2 {
			name, _, hasValue := strings.Cut(a[1:], "=")
			if v, ok := takesValue[name]; ok {
				a = "-" + a
				valueNext = v && !hasValue
			}
		} else if strings.HasPrefix(a, "--") {
			name, _, hasValue := strings.Cut(a[2:], "=")
			valueNext = takesValue[name] && !hasValue
		}
		out = append(out, a)
	}
	return out
}

// longFlags maps the name of every flag longer than one letter, in any command, to whether
// it takes a value (as opposed to a bool flag, whose value must follow an "=").
func longFlags(root *cobra.Command) map[string]bool {
	// cobra adds --help and --version when the command runs; add them now to see them.
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	names := map[string]bool{}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		add := func(f *pflag.Flag) {
			if len(f.Name) > 1 {
				names[f.Name] = f.NoOptDefVal == ""
			}
		}
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(root)
	return names
}
