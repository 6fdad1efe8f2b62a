// Package vmtest boots Debian's PREEMPT_RT kernel under QEMU so that
// sysprep and the runner are tested on the kind of kernel they are built
// for, from `go test -tags vmtest ./rt/vmtest/...` (make vmtest).
//
// The host needs qemu-system-x86_64, busybox and cyclictest; EnsureTools
// installs them with apt-get when run as root (qemu-system-x86
// busybox-static rt-tests xz-utils, --no-install-recommends). Kernel
// fetches linux-image-<version>-rt-amd64, the package that
// linux-image-rt-amd64 depends on, with `apt-get download`, and caches
// it with its extracted kernel under <repo>/.cache/vmtest/. Without root
// or apt the tests skip, loudly; with CI=true they fail instead.
//
// A guest is a busybox initramfs, written in Go as a newc cpio, with
// cyclictest and any files a Scenario names (dynamically linked ones
// bring their libraries). QEMU runs under TCG (a KVM guest hung on this
// machine) with 2 CPUs and 512 MiB; a watchdog kills it after 90 s.
// The scenario's Init script runs as root and reports over the serial
// console with three shell helpers:
//
//	vm_run NAME CMD [ARG...]   stdout as section NAME, stderr as NAME.stderr, with CMD's exit status
//	vm_file NAME PATH          a file's content (rc 1 and the error if unreadable)
//	vm_text NAME TEXT          a string
//
// Each section travels base64-encoded between =====BEGIN NAME===== and
// =====END NAME rc=N===== lines. The console, QEMU's command line and
// its stderr go to <repo>/.cache/vmtest/logs/<scenario>.log, beside the
// initramfs, so a failing boot can be rerun by hand.
//
// Timing under TCG is meaningless: use the guest for behaviour, never
// for performance figures.
//
// Example:
//
//	r := vmtest.MustBoot(t, vmtest.Scenario{
//		Name:    "isolated",
//		Cmdline: "isolcpus=1 nohz_full=1 rcu_nocbs=1 irqaffinity=0",
//		Init:    "vm_file isolated /sys/devices/system/cpu/isolated",
//	})
//	if got := string(r.Must(t, "isolated").Data); got != "1\n" {
//		t.Errorf("isolated = %q (QEMU log: %s)", got, r.Log)
//	}
package vmtest
