package harness

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// newTestCgroup creates a memory cgroup for the test, or skips it, saying why, where this
// process may not write the cgroup tree (not root, or a container without its cgroup
// mounted writable): the benchmark's memory-limited passes need the same access.
func newTestCgroup(t *testing.T, limit int64) *MemoryCgroup {
	t.Helper()
	cg, err := NewMemoryCgroup(fmt.Sprintf("vigil-harness-%s-%d", t.Name(), os.Getpid()), limit)
	if err != nil {
		t.Skipf("no memory cgroup can be created here, so the memory-limited benchmark passes cannot run either: %v", err)
	}
	t.Cleanup(func() {
		if err := cg.Remove(); err != nil {
			t.Error(err)
		}
	})
	return cg
}

// A program started through the cgroup runs in it (as a copy, whose pages the cgroup is
// charged for), and the cgroup reports its use and no OOM kill.
func TestMemoryCgroup_RunsTheProgramInside(t *testing.T) {
	cg := newTestCgroup(t, 64<<20)
	out, err := cg.Command("/bin/cat", "/proc/self/cgroup").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "/vigil-harness-"+t.Name()) {
		t.Errorf("the program's cgroups are\n%s\nwant one ending in the test's cgroup", out)
	}
	if peak, err := cg.PeakUsage(); err != nil || peak <= 0 {
		t.Errorf("peak usage %d (%v), want the copy's and the program's pages", peak, err)
	}
	if n, err := cg.OOMKills(); err != nil || n != 0 {
		t.Errorf("%d OOM kills (%v), want none", n, err)
	}
}

// A program that needs more than the limit is killed by the kernel, and OOMKills counts it
// (the benchmark fails a limited pass on it).
func TestMemoryCgroup_CountsOOMKills(t *testing.T) {
	cg := newTestCgroup(t, 32<<20)
	// 128 MiB, written so that every page is resident.
	err := cg.Command("python3", "-c", "b = bytearray(b'x' * (128 << 20))").Run()
	if err == nil {
		t.Fatal("a program that needs 128 MiB ran to its end in a 32 MiB limit")
	}
	if n, err := cg.OOMKills(); err != nil || n != 1 {
		t.Errorf("%d OOM kills (%v), want 1", n, err)
	}
}
