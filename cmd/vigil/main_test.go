package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun_ExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"version"}, 0, "vigil"},
		{[]string{"controller", "--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"controller", "--concurrent", "0"}, 2, "--concurrent and --rollout-concurrency must be at least 1"},
		{[]string{"controller", "--rollout-max-per-hour", "-1"}, 2, "cannot be negative"},
		{[]string{"controller", "--template-timeout", "0s"}, 2, "--template-timeout must be above 0"},
		{[]string{"controller", "extra"}, 2, "unexpected arguments"},
		{[]string{"controller", "-h"}, 0, "-metrics-bind-address"},
	} {
		var out, errOut bytes.Buffer
		code := run(tc.args, &out, &errOut)
		if code != tc.code {
			t.Errorf("vigil %v exited %d, want %d", tc.args, code, tc.code)
		}
		if all := out.String() + errOut.String(); !strings.Contains(all, tc.says) {
			t.Errorf("vigil %v printed %q, want it to say %q", tc.args, all, tc.says)
		}
	}
}
