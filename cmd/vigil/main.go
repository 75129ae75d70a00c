// Command vigil is Vigil's one binary: `vigil controller` runs the operator, `vigil lint`
// checks manifests offline, `vigil template` renders an ExternalSecret's template offline as
// the controller would, `vigil version` prints the build. The commands are cobra commands, wired explicitly here.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit codes of every command.
const (
	exitOK      = 0
	exitFailure = 1 // a failure at run time: deny findings, a render error, a controller that stopped
	exitUsage   = 2 // bad flags or arguments, unreadable input
)

// exitError ends a command with a code other than the usage code; its message, if any, is
// printed once on stderr. Every other error a command returns is a usage error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

// failed is a run-time failure (exit 1) with a message.
func failed(err error) error { return &exitError{code: exitFailure, err: err} }

// silent ends the command with code and no further message (the command printed its own).
func silent(code int) error { return &exitError{code: code} }

// run executes the command line and returns the exit code: 0 success, 1 failure at run
// time, 2 bad usage or unreadable input.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(normaliseArgs(root, args))
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
	return exitUsage
}

// newRootCommand builds the command tree. cobra adds `help`, `completion` (bash, zsh, fish,
// powershell) and `--version`.
func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "vigil",
		Short: "vigil syncs secrets from external stores into Kubernetes Secrets",
		Long: `vigil syncs secrets from external stores into Kubernetes Secrets (ExternalSecrets,
compatible with External Secrets Operator), checks them against policies, and rolls out the
workloads that consume them.`,
		Example: `  vigil controller --kubeconfig ~/.kube/config
  vigil lint -o sarif deploy/ > vigil.sarif
  vigil template -f externalsecret.yaml --values data.json
  source <(vigil completion bash)`,
		Version: version(),
		// Flags may come before or after the paths; errors and usage are printed by run.
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(stderr)
			_ = cmd.Usage()
			return silent(exitUsage)
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newControllerCommand(), newLintCommand(), newTemplateCommand(), newVersionCommand(),
		newExplainCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version())
		},
	}
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return "vigil " + info.Main.Version
	}
	return "vigil (devel)"
}
