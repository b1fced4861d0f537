/* A seccomp filter under which openat2 fails with a chosen errno, as on a
 * kernel before 5.6 (ENOSYS) or under a seccomp profile older than the
 * call (EPERM). Shared by tools/berth-no-openat2 and test_bopen. */
#ifndef BERTH_TEST_NO_OPENAT2_H
#define BERTH_TEST_NO_OPENAT2_H

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NO_OPENAT2_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NO_OPENAT2_ARCH AUDIT_ARCH_AARCH64
#else
#error "no_openat2.h: add this architecture's AUDIT_ARCH"
#endif

/* installs the filter on this process and what it starts; 0 or -1 */
static inline int no_openat2(unsigned err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NO_OPENAT2_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -1 : 0;
}

#endif
