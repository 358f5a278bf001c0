package vmtest

import (
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// guestModules are the modules the guest loads to mount its 9p share;
// their dependencies come first, from modules.dep. Debian builds the
// serial console, devtmpfs, tmpfs, NUMA and cpusets in.
var guestModules = []string{"virtio_pci", "9pnet_virtio", "9p"}

// initScript is the guest's /init: mount what bench reads (proc, sys,
// cgroup2 for cpusets), the share as /work, bring up loopback, run the
// script and print its status, then power off (-no-reboot makes QEMU
// exit on the reboot).
const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /work /etc /root /sys/fs/cgroup
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
for m in $(cat /modules); do insmod "/lib/modules/$m" || echo "vmtest: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=none work /work || echo "vmtest: no /work share"
ip link set lo up
hostname vmtest
printf '127.0.0.1 localhost\n::1 localhost\n' >/etc/hosts
export PATH=/bin:/sbin HOME=/root TMPDIR=/tmp
cd /work
echo ` + startMarker + `
/bin/sh /work/script.sh </dev/null 2>&1
st=$?
sync
echo ` + exitMarker + `$st
reboot -f
`

var (
	initrdMu    sync.Mutex
	initrdCache = map[string]string{} // bench binary → initramfs
)

// initramfs returns an initramfs holding busybox, bench and the 9p
// modules, made once per bench binary in this process.
func initramfs(h *Host, bench string) (string, error) {
	initrdMu.Lock()
	defer initrdMu.Unlock()
	if p, ok := initrdCache[bench]; ok {
		return p, nil
	}
	dir, err := os.MkdirTemp("", "vmtest-initrd-")
	if err != nil {
		return "", err
	}
	root := filepath.Join(dir, "root")
	for _, d := range []string{"bin", "lib/modules"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := copyFile(h.Busybox, filepath.Join(root, "bin", "busybox"), 0o755); err != nil {
		return "", err
	}
	if err := copyFile(bench, filepath.Join(root, "bin", "bench"), 0o755); err != nil {
		return "", err
	}
	mods, err := moduleOrder(h.Modules, guestModules)
	if err != nil {
		return "", err
	}
	var names []string
	for _, m := range mods {
		name := filepath.Base(m)
		if err := copyFile(filepath.Join(h.Modules, m), filepath.Join(root, "lib/modules", name), 0o644); err != nil {
			return "", err
		}
		names = append(names, name)
	}
	if err := os.WriteFile(filepath.Join(root, "modules"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "init"), []byte(initScript), 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "initrd")
	if err := packCPIO(h.CPIO, root, p); err != nil {
		return "", err
	}
	os.RemoveAll(root)
	initrdCache[bench] = p
	return p, nil
}

// moduleOrder returns the paths (relative to modules) of want and what
// they depend on, each after its dependencies. Debian's package ships no
// modules.dep (depmod writes it at install), so the dependencies are read
// from each module's .modinfo section, as depmod does.
func moduleOrder(modules string, want []string) ([]string, error) {
	byName := map[string]string{} // name, with _ for -, → path
	err := filepath.WalkDir(modules, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name, ok := strings.CutSuffix(d.Name(), ".ko"); ok && !d.IsDir() {
			rel, _ := filepath.Rel(modules, p)
			byName[strings.ReplaceAll(name, "-", "_")] = rel
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var order []string
	seen := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		name = strings.ReplaceAll(name, "-", "_")
		if seen[name] {
			return nil
		}
		seen[name] = true
		rel, ok := byName[name]
		if !ok {
			return fmt.Errorf("vmtest: no module %s.ko in %s (compressed modules are not supported)", name, modules)
		}
		deps, err := moduleDeps(filepath.Join(modules, rel))
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		order = append(order, rel)
		return nil
	}
	for _, w := range want {
		if err := visit(w); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleDeps reads the depends= entry of a module's .modinfo section.
func moduleDeps(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vmtest: %v", err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil
	}
	b, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("vmtest: %s: %v", path, err)
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, "depends="); ok && v != "" {
			return strings.Split(v, ","), nil
		}
	}
	return nil, nil
}

// packCPIO packs the tree under root into a newc archive, the format the
// kernel unpacks as its initramfs.
func packCPIO(cpio, root, out string) error {
	var list strings.Builder
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		list.WriteString(rel + "\n")
		return nil
	})
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	cmd := exec.Command(cpio, "--quiet", "-o", "-H", "newc")
	cmd.Dir, cmd.Stdin, cmd.Stdout = root, strings.NewReader(list.String()), f
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cpio: %v: %s", err, stderr.String())
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// BuildBench builds a static bench (CGO_ENABLED=0) from the module this
// package is in, once per process, into a temporary directory; or, with
// COREBENCH_VM_BENCH set, returns that binary (to try another build, such
// as an older commit's, in the same tests).
func BuildBench() (string, error) {
	if p := os.Getenv("COREBENCH_VM_BENCH"); p != "" {
		if !staticBinary(p) {
			return "", fmt.Errorf("vmtest: COREBENCH_VM_BENCH=%s is not a static binary (CGO_ENABLED=0 go build)", p)
		}
		return p, nil
	}
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("vmtest: go env GOMOD: %v", err)
			return
		}
		mod := strings.TrimSpace(string(out))
		if mod == "" || mod == os.DevNull {
			buildErr = fmt.Errorf("vmtest: not in a module")
			return
		}
		dir, err := os.MkdirTemp("", "vmtest-bench-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "bench")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/bench")
		cmd.Dir = filepath.Dir(mod)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("vmtest: build a static bench: %v: %s", err, b)
		}
	})
	return buildPath, buildErr
}

// Cleanup removes the initramfs and bench binaries this process made.
func Cleanup() {
	initrdMu.Lock()
	defer initrdMu.Unlock()
	for k, p := range initrdCache {
		os.RemoveAll(filepath.Dir(p))
		delete(initrdCache, k)
	}
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
}
