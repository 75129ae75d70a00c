package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/test/harness"
)

// pprofOf is the pprof address of each controller the benchmark started ("" without).
var pprofOf = map[*harness.Process]string{}

// profileDir, when VIGIL_BENCH_PROFILE names a directory, receives the controller's
// profiles of each phase: a CPU profile of its first 30 seconds and a heap profile before
// it stops (docs/performance.md reads them). Empty: no pprof endpoint is opened.
var profileDir = os.Getenv("VIGIL_BENCH_PROFILE")

// pprofFlags are the controller's flags for profiling: a pprof endpoint on a free port.
func pprofFlags(b *testing.B) (flags []string, addr string) {
	if profileDir == "" {
		return nil, ""
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		b.Fatal(err)
	}
	return []string{"--pprof-bind-address=" + addr}, addr
}

// profileCPU saves a CPU profile of the next 30 seconds of the phase in the background.
func profileCPU(addr, phase string) {
	if addr == "" {
		return
	}
	go func() {
		// The endpoint opens as the process starts: wait for it (bounded).
		for range 100 {
			if resp, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
				resp.Body.Close()
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		saveProfile(addr, "profile?seconds=30", phase+".cpu.pprof")
	}()
}

// profileHeap saves the live heap (after a GC) and the allocations of the phase.
func profileHeap(addr, phase string) {
	if addr == "" {
		return
	}
	saveProfile(addr, "heap?gc=1", phase+".heap.pprof")
	saveProfile(addr, "allocs", phase+".allocs.pprof")
}

func saveProfile(addr, path, name string) {
	c := http.Client{Timeout: time.Minute}
	resp, err := c.Get("http://" + addr + "/debug/pprof/" + path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(filepath.Join(profileDir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}
