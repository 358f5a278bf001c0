package affinity

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Allowed returns the CPUs this process may run on.
func Allowed() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// Available returns the CPUs this process could be allowed on: its
// cpuset's CPUs that are online, whatever narrower mask it inherited. A
// child of a pinned process (bench run pins itself to the generator's
// CPUs before it starts the servers) checks a CPU list against this, not
// against its own mask, or it refuses CPUs it is about to pin itself to.
//
// The kernel answers: a thread that asks for every CPU gets its cpuset's
// online ones (sched_setaffinity intersects), and the thread, locked for
// the purpose, exits with its goroutine, so no other goroutine runs on
// its widened mask, and threads the runtime starts meanwhile come from a
// clean one (a locked thread never clones another). Where the kernel
// refuses (a sandbox without sched_setaffinity), it is Allowed.
func Available() ([]int, error) {
	type answer struct {
		cpus []int
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		var all unix.CPUSet
		for c := range 8 * int(unsafe.Sizeof(all)) {
			all.Set(c)
		}
		if err := unix.SchedSetaffinity(0, &all); err != nil {
			ch <- answer{err: err}
			return
		}
		cpus, err := Allowed()
		ch <- answer{cpus, err}
	}()
	a := <-ch
	if a.err != nil || len(a.cpus) == 0 {
		return Allowed()
	}
	return a.cpus, nil
}

func setOf(cpus []int) unix.CPUSet {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	return set
}

// PinProcess pins every thread of the calling process to cpus. Threads
// created later inherit the mask from the thread that creates them; the
// loop repeats until a pass finds no thread it has not pinned, so a thread
// born during a pass is caught by the next.
func PinProcess(cpus []int) error {
	if len(cpus) == 0 {
		return nil
	}
	set := setOf(cpus)
	done := map[int]bool{}
	for pass := 0; pass < 100; pass++ {
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("pin to CPUs %s: %w", Format(cpus), err)
		}
		fresh := 0
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("pin to CPUs %s: sched_setaffinity: %w", Format(cpus), err)
			}
			done[tid] = true
			fresh++
		}
		if fresh == 0 {
			return nil
		}
	}
	return fmt.Errorf("pin to CPUs %s: threads kept appearing", Format(cpus))
}

// StartPinned starts cmd with its affinity already set to cpus from its
// first instruction, by forking it from a thread pinned for the purpose.
// With no cpus it is cmd.Start.
func StartPinned(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) == 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("sched_getaffinity: %w", err)
	}
	set := setOf(cpus)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin child to CPUs %s: %w", Format(cpus), err)
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		err = fmt.Errorf("restore affinity: %w", rerr)
	}
	return err
}
