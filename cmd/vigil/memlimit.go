package main

import (
	"errors"
	"log/slog"
	"math"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
)

// setMemoryLimit sets Go's soft memory limit (GOMEMLIMIT) to 90% of the container's memory
// limit (its cgroup's), so that the garbage collector works harder as the process nears the
// limit instead of letting the heap grow to twice what is live and the kernel kill the
// process. A GOMEMLIMIT set in the environment wins; AUTOMEMLIMIT=off turns this off, and
// AUTOMEMLIMIT=0.8 sets another ratio (the library's conventions). Without a limit (outside
// a container) nothing changes.
func setMemoryLimit(log logr.Logger) {
	limit, err := memlimit.Set(memlimit.WithLogger(slog.New(logr.ToSlogHandler(log.V(1)))))
	switch {
	case errors.Is(err, memlimit.ErrNoCgroup) || errors.Is(err, memlimit.ErrCgroupsNotSupported):
		return // not in a container: nothing to follow
	case err != nil:
		log.Error(err, "reading the container's memory limit; GOMEMLIMIT left as it was")
		return
	}
	if limit > 0 && limit < math.MaxInt64 {
		log.Info("Go memory limit set from the container's", "GOMEMLIMIT", limit)
	}
}
