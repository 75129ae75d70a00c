package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/vigil-dev/vigil/policy"
)

// lintOptions are the flags of `vigil lint`.
type lintOptions struct {
	output         string
	failOn         string
	policyFiles    []string
	rolePolicies   []string
	roleBoundaries []string
	helmCharts     []string
	helmValues     []string
	helmBinary     string
}

// failLevels: --fail-on names the least severe action that fails the run.
var failLevels = map[string][]string{
	"deny":  {string(policy.Deny)},
	"warn":  {string(policy.Deny), string(policy.Warn)},
	"audit": {string(policy.Deny), string(policy.Warn), string(policy.Audit)},
}

// Output formats of lint and template.
const (
	formatText  = "text"
	formatJSON  = "json"
	formatSARIF = "sarif"
	formatYAML  = "yaml"
)

var outputFormats = []string{formatText, formatJSON, formatSARIF}

func newLintCommand() *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [flags] PATH...",
		Short: "Check manifests against the policies, offline",
		Long: `Check stores, ExternalSecrets and generators in YAML files, folders or - (stdin) against the
built-in policies and those of the ClusterSecretPolicy files, offline. Each finding names the
file, line and column of the offending field.

IAM policies of roles come from --aws-role-policy (all of them: a role without any is unknown
IAM), permissions boundaries from --aws-role-boundary. Files in the templates folder of a Helm
chart (and files with {{ }} that are not YAML) are skipped with a notice; --helm-chart renders
a chart with helm template and lints the result.

Exits 1 when a finding is Deny (or, with --fail-on warn, Warn; --fail-on audit, any), 0
otherwise, 2 on unreadable input or a policy that does not compile.`,
		Example: `  vigil lint deploy/
  vigil lint deploy/ -o sarif > vigil.sarif
  vigil lint --fail-on warn --policy policies/team.yaml deploy/
  vigil lint --aws-role-policy arn:aws:iam::123456789012:role/app=policy.json deploy/
  helm template charts/app | vigil lint -
  vigil lint --helm-chart charts/app --helm-values prod.yaml`,
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveDefault // file names
		},
		RunE: func(cmd *cobra.Command, paths []string) error {
			return o.run(cmd.Context(), paths, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", formatText, "output `FORMAT`: text, json or sarif")
	f.StringVar(&o.failOn, "fail-on", "deny", "least severe finding (`LEVEL`) that makes lint exit 1: deny, warn or audit")
	f.StringArrayVar(&o.policyFiles, "policy", nil, "a `FILE` of ClusterSecretPolicy documents (repeatable)")
	f.StringArrayVar(&o.rolePolicies, "aws-role-policy", nil,
		"`ROLE_ARN=FILE.json`: an IAM policy attached to a role (repeatable)")
	f.StringArrayVar(&o.roleBoundaries, "aws-role-boundary", nil,
		"`ROLE_ARN=FILE.json`: the permissions boundary of a role")
	f.StringArrayVar(&o.helmCharts, "helm-chart", nil, "a chart `DIR` to render with helm template and lint (repeatable)")
	f.StringArrayVar(&o.helmValues, "helm-values", nil, "a values `FILE` for --helm-chart (repeatable)")
	f.StringVar(&o.helmBinary, "helm", "helm",
		"the helm binary (a `PATH`, or a name looked up in $PATH) that --helm-chart runs")
	completeWords(cmd, "output", outputFormats)
	completeWords(cmd, "fail-on", slices.Sorted(maps.Keys(failLevels)))
	return cmd
}

// run reads the documents and the policies, evaluates, prints the findings and sets the
// exit code.
func (o *lintOptions) run(ctx context.Context, paths []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := o.check(paths); err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	docs, err := o.documents(ctx, paths, stdin, stderr)
	if err != nil {
		return unusable(err)
	}
	set, err := lintPolicies(ctx, o.policyFiles)
	if err != nil {
		return unusable(err)
	}
	iam, err := readRolePolicies(o.rolePolicies, o.roleBoundaries)
	if err != nil {
		return unusable(err)
	}
	findings, err := lintDocuments(ctx, docs, set, iam)
	if err != nil {
		return unusable(err)
	}
	if err := printFindings(stdout, o.output, findings, set); err != nil {
		return unusable(err)
	}
	for _, f := range findings {
		if slices.Contains(failLevels[o.failOn], f.Action) {
			return silent(exitFailure)
		}
	}
	return nil
}

// check refuses flag values and arguments lint cannot use (a usage error).
func (o *lintOptions) check(paths []string) error {
	if len(paths) == 0 && len(o.helmCharts) == 0 {
		return fmt.Errorf("no PATH given (a file, a folder, or - for stdin)")
	}
	if !slices.Contains(outputFormats, o.output) {
		return fmt.Errorf("-o %q is not text, json or sarif", o.output)
	}
	if _, ok := failLevels[o.failOn]; !ok {
		return fmt.Errorf("--fail-on %q is not deny, warn or audit", o.failOn)
	}
	return nil
}

// documents reads the paths and renders the charts of --helm-chart; the Helm templates it
// skipped are named on stderr.
func (o *lintOptions) documents(ctx context.Context, paths []string, stdin io.Reader,
	stderr io.Writer) ([]document, error) {
	r := &reader{stdin: stdin, charts: cleanPaths(o.helmCharts)}
	docs, err := r.read(paths)
	if err != nil {
		return nil, err
	}
	r.skippedNotice(stderr)
	for _, chart := range o.helmCharts {
		rendered, err := renderChart(ctx, o.helmBinary, chart, o.helmValues)
		if err != nil {
			return nil, err
		}
		docs = append(docs, rendered...)
	}
	return docs, nil
}

// unusable ends lint with exit code 2 and the error: the input cannot be linted.
func unusable(err error) error { return &exitError{code: exitUsage, err: err} }
