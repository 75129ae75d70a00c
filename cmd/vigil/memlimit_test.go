package main

import (
	"context"
	"os"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
)

// TestSetMemoryLimit_FollowsTheContainersLimit: the soft limit is the ratio of what the
// provider (the cgroup, in a container) reports; ratio 0 and a process outside any cgroup
// leave it as it was.
func TestSetMemoryLimit_FollowsTheContainersLimit(t *testing.T) {
	for _, env := range []string{"GOMEMLIMIT", "AUTOMEMLIMIT"} {
		t.Setenv(env, "") // restored after the test
		if err := os.Unsetenv(env); err != nil {
			t.Fatal(err)
		}
	}
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	const gib = 1 << 30
	ratio := defaultMemoryLimitRatio
	noCgroup := func() (uint64, error) { return 0, memlimit.ErrNoCgroup }
	cases := []struct {
		name     string
		ratio    float64
		provider memlimit.Provider
		want     int64
	}{
		{"ratio of the container's limit", 0.5, memlimit.Limit(gib), gib / 2},
		{"the default ratio", ratio, memlimit.Limit(gib), int64(float64(gib) * ratio)},
		{"off", 0, memlimit.Limit(gib), before},
		{"not in a container", 0.9, noCgroup, before},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			debug.SetMemoryLimit(before)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // stops the refreshes
			setMemoryLimit(ctx, logr.Discard(), c.ratio, c.provider)
			if got := debug.SetMemoryLimit(-1); got != c.want {
				t.Errorf("GOMEMLIMIT = %d, want %d", got, c.want)
			}
		})
	}
}
