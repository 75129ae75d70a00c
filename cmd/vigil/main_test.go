package main

import (
	"bytes"
	"strings"
	"testing"
)

// vigil runs the command line as main does and returns the exit code, stdout and stderr.
func vigil(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun_ExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"version"}, 0, "vigil"},
		{[]string{"controller", "--no-such-flag"}, 2, "unknown flag: --no-such-flag"},
		{[]string{"controller", "--concurrent", "0"}, 2, "--concurrent and --rollout-concurrency must be at least 1"},
		{[]string{"controller", "--rollout-max-per-hour", "-1"}, 2, "cannot be negative"},
		{[]string{"controller", "--template-timeout", "0s"}, 2, "--template-timeout must be above 0"},
		{[]string{"controller", "extra"}, 2, "unexpected arguments"},
		{[]string{"controller", "-h"}, 0, "--metrics-bind-address"},
	} {
		code, out, errOut := vigil("", tc.args...)
		if code != tc.code {
			t.Errorf("vigil %v exited %d, want %d", tc.args, code, tc.code)
		}
		if all := out + errOut; !strings.Contains(all, tc.says) {
			t.Errorf("vigil %v printed %q, want it to say %q", tc.args, all, tc.says)
		}
	}
}

func TestRun_Version(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, _ := vigil("", args...)
		if code != 0 || !strings.HasPrefix(out, "vigil ") || strings.Count(out, "\n") != 1 {
			t.Errorf("vigil %v: exit %d, printed %q; want 0 and one line \"vigil <version>\"", args, code, out)
		}
	}
}

// Command lines written for Go's flag package (one dash before long names) keep working:
// the chart's extraArgs and users' scripts may carry them.
func TestRun_SingleDashLongFlags(t *testing.T) {
	for _, args := range [][]string{
		{"controller", "-concurrent", "0"},
		{"controller", "-concurrent=0"},
		{"controller", "-leader-elect", "-concurrent=0"},
		{"controller", "-kubeconfig", "-concurrent", "--concurrent=0"}, // "-concurrent" is the kubeconfig's path here
	} {
		code, _, errOut := vigil("", args...)
		if code != 2 || !strings.Contains(errOut, "--concurrent and --rollout-concurrency must be at least 1, got 0") {
			t.Errorf("vigil %v: exit %d, %q; want the flags parsed and the concurrency refused", args, code, errOut)
		}
	}
	if code, out, _ := vigil("", "controller", "-help"); code != 0 || !strings.Contains(out, "--metrics-bind-address") {
		t.Errorf("vigil controller -help: exit %d; want 0 and the flags", code)
	}
	if code, _, errOut := vigil("", "controller", "-no-such-flag"); code != 2 || !strings.Contains(errOut, "unknown shorthand flag") {
		t.Errorf("an unknown single-dash flag: exit %d, %q; want 2 and pflag's refusal", code, errOut)
	}
}

func TestRun_Completion(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_vigil", "zsh": "#compdef vigil", "fish": "complete -c vigil"} {
		code, out, errOut := vigil("", "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Errorf("vigil completion %s: exit %d, stderr %q; want a script with %q", shell, code, errOut, marker)
		}
	}
	// Dynamic completion of flag values: cobra's hidden __complete command.
	for _, tc := range []struct{ args, want []string }{
		{[]string{"lint", "-o", ""}, []string{"text", "json", "sarif"}},
		{[]string{"lint", "--fail-on", ""}, []string{"deny", "warn", "audit"}},
		{[]string{"template", "-o", ""}, []string{"yaml", "json"}},
		{[]string{"controller", "--zap-log-level", ""}, []string{"debug", "info", "error"}},
		{[]string{"controller", "--rollout-scope", ""}, []string{"managed", "all"}},
	} {
		code, out, _ := vigil("", append([]string{"__complete"}, tc.args...)...)
		for _, w := range tc.want {
			if code != 0 || !strings.Contains(out, w+"\n") {
				t.Errorf("completing %v: exit %d, %q; want %q offered", tc.args, code, out, w)
			}
		}
	}
}

func TestRun_HelpShowsExamples(t *testing.T) {
	for _, cmd := range []string{"controller", "lint", "template"} {
		code, out, _ := vigil("", cmd, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "vigil "+cmd) {
			t.Errorf("vigil %s --help: exit %d, want examples of vigil %s:\n%s", cmd, code, cmd, out)
		}
	}
}
