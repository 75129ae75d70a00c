package main

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
)

// defaultMemoryLimitRatio is the share of the container's memory limit given to Go's soft
// limit. The rest is room for what the Go runtime does not count, above all the pages of
// the binary itself that the kernel charges to the container: about 80 MiB of a running
// controller's resident memory (docs/performance.md). At 0.9 a limit that binds left too
// little of that room, and the kernel evicted and re-read the binary's pages until the
// controller stalled (10,000 ExternalSecrets in 192 and 256 MiB); at 0.6 the same work ran
// in 192 MiB but not in 143 MiB (150 MB), where the binary's pages were evicted as fast as
// they were read (its working set is about 31 MiB of code and read-only data); at 0.5 it ran
// in 143 MiB, with the GC working harder.
const defaultMemoryLimitRatio = 0.5

// memoryLimitRefresh is how often the container's limit is read again: an in-place resize
// of the pod changes it without a restart.
const memoryLimitRefresh = time.Minute

// setMemoryLimit sets Go's soft memory limit (GOMEMLIMIT) to ratio times the container's
// memory limit (its cgroup's, read by automemlimit), so that the garbage collector works
// harder as the process nears the limit instead of letting the heap grow to twice what is
// live and the kernel kill the process. ratio 0 (--memory-limit-ratio=0) turns it off. The
// library's environment variables win over the flag: GOMEMLIMIT set keeps that limit,
// AUTOMEMLIMIT=off turns this off, AUTOMEMLIMIT=0.8 sets another ratio. Without a limit
// (outside a container) nothing changes. provider is memlimit.FromCgroup but in tests.
func setMemoryLimit(ctx context.Context, log logr.Logger, ratio float64, provider memlimit.Provider) {
	if ratio == 0 {
		return
	}
	// Outside a container there is nothing to follow: asked first, so that neither Set nor
	// its refreshes log the missing cgroup as an error.
	if _, err := provider(); errors.Is(err, memlimit.ErrNoCgroup) || errors.Is(err, memlimit.ErrCgroupsNotSupported) {
		return
	}
	limit, err := memlimit.Set(
		memlimit.WithRatio(ratio),
		memlimit.WithProvider(provider),
		memlimit.WithRefreshInterval(ctx, memoryLimitRefresh),
		memlimit.WithLogger(slog.New(logr.ToSlogHandler(log.V(1)))),
	)
	if err != nil {
		log.Error(err, "reading the container's memory limit; GOMEMLIMIT left as it was")
		return
	}
	if limit > 0 && limit < math.MaxInt64 {
		log.Info("Go memory limit set from the container's", "GOMEMLIMIT", limit)
	}
}
