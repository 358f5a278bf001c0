// Package vmtest boots a throwaway Linux VM of a given shape (CPUs,
// sockets, cores per socket, threads per core, NUMA nodes, memory), runs
// a shell script in it, and returns the script's exit status, its output
// and the files it wrote.
//
// The guest is Debian's kernel (unpacked by tools/vm/kernel.sh), an
// initramfs of busybox-static and a static bench built from this tree:
// a real kernel, with real sysfs, affinity, cpusets and NUMA nodes, for
// what depends on the machine's shape. It is no benchmark: under QEMU's
// software emulation (TCG, used where /dev/kvm does not work, as when
// KVM does not nest) the guest runs many times slower than the host.
//
// The script runs as root in /work, a 9p share of a host directory
// (Result.Dir), with bench, busybox's applets and /bin/sh on PATH. What
// it prints goes to the serial console, and so to Result.Output; the
// exit status is read from a marker line the guest's init prints after
// it, so a guest that dies or hangs is an error, not a status.
package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Shape is a VM's processor and memory layout. CPUs is Sockets × Cores ×
// Threads; QEMU numbers CPUs socket by socket and a core's threads next
// to each other (0-1 are one core's two threads), and puts node i on
// the i-th equal share of the CPUs, so with Nodes = Sockets a node is a
// socket.
type Shape struct {
	Sockets, Cores, Threads int // Cores per socket, Threads per core
	Nodes                   int // NUMA nodes; 0 or 1: none declared
	MemoryMB                int // default 2048
}

// CPUs is how many logical CPUs the shape has.
func (s Shape) CPUs() int { return s.Sockets * s.Cores * s.Threads }

func (s Shape) String() string {
	return fmt.Sprintf("%d CPUs (%d sockets × %d cores × %d threads, %d NUMA nodes)", s.CPUs(), s.Sockets, s.Cores, s.Threads, max(s.Nodes, 1))
}

// Options say what to boot and run.
type Options struct {
	Shape
	// Script is run by /bin/sh in /work. Files are written into /work
	// before the boot, by name.
	Script string
	Files  map[string][]byte
	// Bench is the static bench binary put on the guest's PATH
	// (BuildBench makes one).
	Bench string
	// Dir is the host directory shared as /work; default a new temporary
	// directory, which the caller removes.
	Dir string
	// Timeout bounds the whole boot and run; default 10 minutes. Past it
	// QEMU is killed and Run returns an error with the output so far.
	Timeout time.Duration
	// Output, when set, gets each console line as it comes.
	Output func(line string)
	// BootTimeout bounds the boot, to the script's first line; default
	// 3 minutes. A guest silent past it is killed and booted once more:
	// under TCG with many CPUs on a busy host, a boot has been seen to
	// print nothing for 10 minutes, and the next to run normally.
	BootTimeout time.Duration
}

// Result is what a finished script left.
type Result struct {
	Status  int           // the script's exit status
	Output  string        // the serial console: the script's output, and the kernel's few lines
	Dir     string        // the host directory the guest saw as /work
	Accel   string        // "kvm" or "tcg"
	Elapsed time.Duration // from QEMU's start to its exit
}

// Markers the guest's init prints around the script.
const (
	startMarker = "@@vmtest start"
	exitMarker  = "@@vmtest exit "
)

var exitRe = regexp.MustCompile(`@@vmtest exit (\d+)`)

// Run boots a VM of o.Shape, runs o.Script and returns when QEMU exits.
// The guest powers itself off after the script; a script that does not
// finish within the timeout is killed with the VM.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Sockets <= 0 || o.Cores <= 0 || o.Threads <= 0 {
		return nil, fmt.Errorf("vmtest: shape %+v: sockets, cores and threads must be positive", o.Shape)
	}
	if o.Nodes > 1 && o.CPUs()%o.Nodes != 0 {
		return nil, fmt.Errorf("vmtest: %d CPUs do not split into %d NUMA nodes", o.CPUs(), o.Nodes)
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = 2048
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Bench == "" {
		return nil, errors.New("vmtest: no bench binary (BuildBench makes one)")
	}
	host, err := Find()
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		if o.Dir, err = os.MkdirTemp("", "vmtest-"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	files := map[string][]byte{"script.sh": []byte(o.Script)}
	for name, b := range o.Files {
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(o.Dir, name), b, 0o755); err != nil {
			return nil, err
		}
	}
	initrd, err := initramfs(host, o.Bench)
	if err != nil {
		return nil, err
	}
	if o.BootTimeout <= 0 {
		o.BootTimeout = 3 * time.Minute
	}
	r, err := boot(ctx, host, o, initrd)
	if errors.Is(err, errSilentBoot) {
		if o.Output != nil {
			o.Output(fmt.Sprintf("vmtest: %v; booting once more", err))
		}
		r, err = boot(ctx, host, o, initrd)
	}
	return r, err
}

// errSilentBoot is a guest that printed no start marker within the boot
// timeout.
var errSilentBoot = errors.New("the guest printed nothing within the boot timeout")

// boot runs the VM once.
func boot(ctx context.Context, host *Host, o Options, initrd string) (*Result, error) {
	accel := host.accel()
	args := qemuArgs(host, o, initrd, accel)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	bootCtx, booted := context.WithCancel(ctx)
	defer booted()
	var silent atomic.Bool
	go func() {
		select {
		case <-bootCtx.Done():
		case <-time.After(o.BootTimeout):
			silent.Store(true)
			cancel()
		}
	}()
	cmd := exec.CommandContext(ctx, host.QEMU, args...)
	cmd.WaitDelay = 5 * time.Second
	dieWithParent(cmd)
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	var stderr strings.Builder
	cmd.Stderr = &stderr
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if strings.HasPrefix(line, startMarker) {
				booted()
			}
			out.WriteString(line + "\n")
			if o.Output != nil {
				o.Output(line)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	began := time.Now()
	err := cmd.Run()
	pw.Close()
	<-read
	r := &Result{Output: out.String(), Dir: o.Dir, Accel: accel, Elapsed: time.Since(began)}
	booted()
	if silent.Load() && !strings.Contains(r.Output, startMarker) {
		return r, fmt.Errorf("vmtest: %s (%s): %w (%v)", o.Shape, accel, errSilentBoot, o.BootTimeout)
	}
	if ctx.Err() != nil {
		return r, fmt.Errorf("vmtest: %s: no end within %v (%s); output so far:\n%s", o.Shape, o.Timeout, accel, tail(r.Output, 40))
	}
	if err != nil {
		return r, fmt.Errorf("vmtest: qemu: %v: %s; output:\n%s", err, qemuErrors(stderr.String()), tail(r.Output, 40))
	}
	m := exitRe.FindAllStringSubmatch(r.Output, -1)
	if len(m) == 0 {
		return r, fmt.Errorf("vmtest: %s: the guest stopped before the script ended; output:\n%s", o.Shape, tail(r.Output, 40))
	}
	r.Status, _ = strconv.Atoi(m[len(m)-1][1])
	return r, nil
}

// qemuArgs is QEMU's command line for o.
func qemuArgs(h *Host, o Options, initrd, accel string) []string {
	args := []string{"-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"}
	if accel == "kvm" {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		// Skylake-Server gives the guest SMT siblings; an AMD model would
		// show none.
		args = append(args, "-accel", "tcg,thread=multi", "-cpu", "Skylake-Server-v1")
	}
	args = append(args, "-smp", fmt.Sprintf("%d,sockets=%d,cores=%d,threads=%d", o.CPUs(), o.Sockets, o.Cores, o.Threads),
		"-m", fmt.Sprintf("%dM", o.MemoryMB))
	if o.Nodes > 1 {
		per := o.CPUs() / o.Nodes
		for i := range o.Nodes {
			args = append(args,
				"-object", fmt.Sprintf("memory-backend-ram,id=m%d,size=%dM", i, o.MemoryMB/o.Nodes),
				"-numa", fmt.Sprintf("node,nodeid=%d,cpus=%d-%d,memdev=m%d", i, i*per, (i+1)*per-1, i))
		}
		// The memory of the nodes adds up to what -m says.
		args[slicesIndex(args, "-m")+1] = fmt.Sprintf("%dM", o.MemoryMB/o.Nodes*o.Nodes)
	}
	return append(args,
		"-kernel", h.Kernel, "-initrd", initrd,
		"-append", "console=ttyS0 quiet loglevel=1 panic=-1",
		"-virtfs", "local,path="+o.Dir+",mount_tag=work,security_model=none,id=work")
}

// qemuErrors is QEMU's stderr less its warnings about CPU features TCG
// does not emulate, one per CPU.
func qemuErrors(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if !strings.Contains(l, "doesn't support requested feature") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Host is what this machine needs to boot a VM.
type Host struct {
	QEMU    string // qemu-system-x86_64
	Busybox string // a static busybox
	CPIO    string // cpio, to pack the initramfs
	Kernel  string // vmlinuz
	Modules string // lib/modules/<version> beside it
}

// KernelDir is where tools/vm/kernel.sh unpacks Debian's kernel package;
// COREBENCH_VM_KERNEL_DIR overrides it.
func KernelDir() string {
	if d := os.Getenv("COREBENCH_VM_KERNEL_DIR"); d != "" {
		return d
	}
	return "/var/cache/corebench/vm/kernel"
}

// Find looks for what booting a VM needs, and says in one line what is
// missing and how to get it.
func Find() (*Host, error) {
	h := &Host{}
	var missing []string
	for _, p := range []struct {
		dst          *string
		names        []string
		debianPkgFor string
	}{
		{&h.QEMU, []string{"qemu-system-x86_64"}, "qemu-system-x86"},
		{&h.Busybox, []string{"/bin/busybox", "busybox"}, "busybox-static"},
		{&h.CPIO, []string{"cpio"}, "cpio"},
	} {
		for _, n := range p.names {
			if path, err := exec.LookPath(n); err == nil {
				*p.dst = path
				break
			}
		}
		if *p.dst == "" {
			missing = append(missing, p.debianPkgFor)
		}
	}
	if h.Busybox != "" && !staticBinary(h.Busybox) {
		h.Busybox = ""
		missing = append(missing, "busybox-static")
	}
	dir := KernelDir()
	kernels, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(kernels) > 0 {
		h.Kernel = kernels[len(kernels)-1]
		h.Modules = filepath.Join(dir, "lib", "modules", strings.TrimPrefix(filepath.Base(h.Kernel), "vmlinuz-"))
		if _, err := os.Stat(h.Modules); err != nil {
			h.Kernel = ""
		}
	}
	if len(missing) > 0 || h.Kernel == "" {
		msg := "vmtest: cannot boot a VM here:"
		if len(missing) > 0 {
			msg += " apt-get install " + strings.Join(missing, " ") + ";"
		}
		if h.Kernel == "" {
			msg += " no kernel in " + dir + " (tools/vm/kernel.sh unpacks Debian's);"
		}
		return nil, errors.New(strings.TrimSuffix(msg, ";"))
	}
	return h, nil
}

// staticBinary reports whether path is an ELF file with no interpreter:
// the initramfs has no libc, so a dynamic busybox cannot run there.
func staticBinary(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return bytes.HasPrefix(b, []byte("\x7fELF")) && !bytes.Contains(b[:min(len(b), 4096)], []byte("/lib64/ld-linux"))
}

var (
	accelOnce sync.Once
	accelName string
)

// accel is "kvm" where a guest boots under KVM, "tcg" otherwise. /dev/kvm
// may open, and even make a VM, where KVM does not nest and a guest never
// gets past its first instructions; so a tiny guest is booted under KVM
// once, and if it does not print its marker within a few seconds, TCG
// it is. COREBENCH_VM_ACCEL=tcg or kvm skips the trial.
func (h *Host) accel() string {
	accelOnce.Do(func() {
		accelName = "tcg"
		switch a := os.Getenv("COREBENCH_VM_ACCEL"); a {
		case "tcg", "kvm":
			accelName = a
			return
		}
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
			return
		} else {
			f.Close()
		}
		// The trial takes its 15 s where KVM does not nest: its answer is
		// kept beside the kernel for this boot of the host, so the next
		// test binary does not try again.
		cache := filepath.Join(filepath.Dir(KernelDir()), "accel")
		boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
		id := strings.TrimSpace(string(boot))
		if b, err := os.ReadFile(cache); err == nil && id != "" {
			if was, a, ok := strings.Cut(strings.TrimSpace(string(b)), " "); ok && was == id && (a == "kvm" || a == "tcg") {
				accelName = a
				return
			}
		}
		if h.kvmBoots() {
			accelName = "kvm"
		}
		if id != "" {
			os.WriteFile(cache, []byte(id+" "+accelName+"\n"), 0o644)
		}
	})
	return accelName
}

// kvmBoots boots the kernel under KVM with an init that prints a line.
func (h *Host) kvmBoots() bool {
	dir, err := os.MkdirTemp("", "vmtest-kvm-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return false
	}
	if err := copyFile(h.Busybox, filepath.Join(root, "bin", "busybox"), 0o755); err != nil {
		return false
	}
	initScript := "#!/bin/busybox sh\n/bin/busybox echo " + startMarker + "\n/bin/busybox reboot -f\n"
	if err := os.WriteFile(filepath.Join(root, "init"), []byte(initScript), 0o755); err != nil {
		return false
	}
	initrd := filepath.Join(dir, "initrd")
	if err := packCPIO(h.CPIO, root, initrd); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, h.QEMU, "-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none",
		"-no-reboot", "-accel", "kvm", "-cpu", "host", "-m", "256M", "-kernel", h.Kernel, "-initrd", initrd,
		"-append", "console=ttyS0 quiet loglevel=1 panic=-1").CombinedOutput()
	return bytes.Contains(out, []byte(startMarker))
}
