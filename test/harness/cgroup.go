package harness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// MemoryCgroup is a memory cgroup of the test's own, below the one this process runs in, with
// a limit: a process started in it runs as in a container with that memory limit (its
// kernel OOM-kills it past the limit, and the process reads the limit from its cgroup).
// Creating one needs write access to the cgroup tree (root on a VM or a privileged
// container); NewMemoryCgroup says so when there is none.
type MemoryCgroup struct {
	Dir   string // the cgroup's directory
	Limit int64  // bytes
	v2    bool
	tmp   string // where Command copies the program to
}

// NewMemoryCgroup creates the cgroup name below this process's memory cgroup, on cgroup v2
// (unified) or v1 (the memory hierarchy), with the memory limit limit.
func NewMemoryCgroup(name string, limit int64) (*MemoryCgroup, error) {
	parent, v2, err := ownMemoryCgroup()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "cgroup-"+name+"-")
	if err != nil {
		return nil, err
	}
	cg := &MemoryCgroup{Dir: filepath.Join(parent, name), Limit: limit, v2: v2, tmp: tmp}
	if err := os.Mkdir(cg.Dir, 0o755); err != nil && !os.IsExist(err) {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("creating memory cgroup %s (needs write access to the cgroup tree): %w", cg.Dir, err)
	}
	file, value := "memory.limit_in_bytes", strconv.FormatInt(limit, 10)
	if v2 {
		file = "memory.max"
	}
	if err := os.WriteFile(filepath.Join(cg.Dir, file), []byte(value), 0o644); err != nil {
		_ = cg.Remove()
		return nil, fmt.Errorf("setting the limit of memory cgroup %s: %w", cg.Dir, err)
	}
	return cg, nil
}

// ownMemoryCgroup finds the directory of this process's memory cgroup: the v1 memory
// hierarchy's when one is mounted, else the v2 unified one's.
func ownMemoryCgroup() (dir string, v2 bool, err error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return "", false, err
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	var unified string
	s := bufio.NewScanner(f)
	for s.Scan() { // hierarchy-ID:controllers:path
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[1] == "" && parts[0] == "0":
			unified = parts[2]
		case containsWord(parts[1], "memory") && mounts["memory"] != "":
			return filepath.Join(mounts["memory"], parts[2]), false, nil
		}
	}
	if unified != "" && mounts[""] != "" {
		return filepath.Join(mounts[""], unified), true, nil
	}
	return "", false, fmt.Errorf("no memory cgroup found for this process (/proc/self/cgroup, /proc/self/mounts)")
}

// cgroupMounts maps "memory" to the v1 memory hierarchy's mount point and "" to the v2
// unified one's, as /proc/self/mounts lists them.
func cgroupMounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mounts := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() { // device mountpoint fstype options ...
		fields := strings.Fields(s.Text())
		if len(fields) < 4 {
			continue
		}
		switch {
		case fields[2] == "cgroup2":
			mounts[""] = fields[1]
		case fields[2] == "cgroup" && containsWord(fields[3], "memory"):
			mounts["memory"] = fields[1]
		}
	}
	return mounts, s.Err()
}

func containsWord(list, word string) bool {
	for w := range strings.SplitSeq(list, ",") {
		if w == word {
			return true
		}
	}
	return false
}

// Command returns the program run inside the cgroup: a shell moves itself into it, copies
// the program, and executes the copy, so that the program and everything it starts are in
// the cgroup from their first instruction, and the program's file pages, read by the copy,
// are charged to the cgroup as a container's image files are to the container (the
// original's were charged to whoever built it).
func (cg *MemoryCgroup) Command(name string, args ...string) *exec.Cmd {
	if path, err := exec.LookPath(name); err == nil {
		name = path // cp needs the file, not a name on PATH
	}
	copied := filepath.Join(cg.tmp, filepath.Base(name))
	script := `echo $$ > "$0/cgroup.procs" && cp "$1" "$2" && shift 2 && exec "$@"`
	return exec.Command("sh", append([]string{"-c", script, cg.Dir, name, copied, copied}, args...)...)
}

// PeakUsage is the cgroup's peak memory use in bytes, as the kernel counts it against the
// limit: the processes' memory and the file pages charged to it.
func (cg *MemoryCgroup) PeakUsage() (int64, error) {
	file := "memory.max_usage_in_bytes"
	if cg.v2 {
		file = "memory.peak"
	}
	out, err := os.ReadFile(filepath.Join(cg.Dir, file))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

// OOMKills is how many processes the kernel killed in the cgroup for going over its limit.
func (cg *MemoryCgroup) OOMKills() (int, error) {
	file, key := "memory.oom_control", "oom_kill"
	if cg.v2 {
		file = "memory.events"
	}
	out, err := os.ReadFile(filepath.Join(cg.Dir, file))
	if err != nil {
		return 0, err
	}
	for l := range strings.SplitSeq(string(out), "\n") {
		if rest, ok := strings.CutPrefix(l, key+" "); ok {
			return strconv.Atoi(strings.TrimSpace(rest))
		}
	}
	return 0, fmt.Errorf("no %s line in %s", key, file)
}

// Remove deletes the cgroup (its processes must have exited) and the program's copies.
func (cg *MemoryCgroup) Remove() error {
	return errors.Join(os.Remove(cg.Dir), os.RemoveAll(cg.tmp))
}
