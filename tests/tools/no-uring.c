/*
 * no-uring - runs a program on a machine without io_uring, as far as it can tell.
 *
 * tests/servers.bats uses it to prove that echo-uring, where io_uring is
 * unavailable, exits 1 with "io_uring is unavailable here: REASON" before
 * any readiness line, and that bench/models.sh then reports the model as
 * unavailable (so the suites and the bench skip it, saying why). Containers
 * often do exactly this: Docker's default seccomp profile refuses the
 * io_uring calls, and a kernel without io_uring answers ENOSYS.
 *
 * It installs a seccomp filter (prctl PR_SET_NO_NEW_PRIVS, then
 * PR_SET_SECCOMP with SECCOMP_MODE_FILTER; the BPF program is written out
 * below, no libseccomp) that makes io_uring_setup, io_uring_enter and
 * io_uring_register fail with ERRNO and allows every other call, then execs
 * the program. The filter is inherited by the program and all it starts.
 * A call made with another architecture's convention (an i386 or x32 program
 * on x86_64), where the numbers differ, kills the process rather than slip
 * past the filter.
 *
 * Usage: no-uring [-e ENOSYS|EPERM] PROGRAM [ARGS...]
 *        no-uring [-e ENOSYS|EPERM] --check
 * -e picks the error (default ENOSYS: a kernel built without io_uring;
 * EPERM: kernel.io_uring_disabled or a container's seccomp profile).
 * --check installs the filter, calls io_uring_setup itself and prints
 * "io_uring_setup: <strerror>": exit 0 when it failed with ERRNO.
 * Exit: the program's (exec); 1 the filter could not be installed or
 * --check found io_uring working; 2 usage; 77 an architecture this tool
 * does not know (the tests skip).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXIT_USAGE       2
#define EXIT_UNSUPPORTED 77

/* The io_uring calls have the same numbers on every architecture that uses
 * the common table (since Linux 5.1); older headers may not name them. */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

/* The architecture a call must come from (seccomp_data.arch). */
#if defined(__x86_64__) && !defined(__ILP32__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define FILTER_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define FILTER_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FILTER_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define FILTER_ARCH AUDIT_ARCH_S390X
#endif

/* x32 calls come in as AUDIT_ARCH_X86_64 with this bit set in the number. */
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

static void usage(FILE *out)
{
	fprintf(out, "Usage: no-uring [-e ENOSYS|EPERM] PROGRAM [ARGS...]\n"
	             "       no-uring [-e ENOSYS|EPERM] --check\n");
}

#ifdef FILTER_ARCH
/* Returns 0, or -1 with errno set. */
static int install_filter(int error)
{
	struct sock_filter code[] = {
		/* Another architecture's calls have other numbers: refuse them
		 * outright instead of letting an io_uring call through. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)error & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };

	/* Without it an unprivileged process may not install a filter; it also
	 * keeps a set-user-id program from running under one. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}
#endif

int main(int argc, char **argv)
{
	int error = ENOSYS, arg = 1;

	if (arg + 1 < argc && strcmp(argv[arg], "-e") == 0) {
		if (strcmp(argv[arg + 1], "ENOSYS") == 0)
			error = ENOSYS;
		else if (strcmp(argv[arg + 1], "EPERM") == 0)
			error = EPERM;
		else {
			fprintf(stderr, "no-uring: -e: '%s' is not ENOSYS or EPERM\n",
			        argv[arg + 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
		arg += 2;
	}
	if (arg >= argc || (argv[arg][0] == '-' && strcmp(argv[arg], "--check") != 0) ||
	    (strcmp(argv[arg], "--check") == 0 && arg + 1 != argc)) {
		usage(stderr);
		return EXIT_USAGE;
	}
#ifndef FILTER_ARCH
	fprintf(stderr, "no-uring: this architecture is not supported (no seccomp arch known)\n");
	return EXIT_UNSUPPORTED;
#else
	if (install_filter(error) < 0) {
		fprintf(stderr, "no-uring: cannot install the seccomp filter: %s\n",
		        strerror(errno));
		return 1;
	}
	if (strcmp(argv[arg], "--check") == 0) {
		char params[120] = { 0 }; /* struct io_uring_params, zeroed */
		long rc = syscall(__NR_io_uring_setup, 1, params);
		int saved_errno = errno;

		if (rc >= 0) {
			close((int)rc);
			printf("io_uring_setup: succeeded\n");
			return 1;
		}
		printf("io_uring_setup: %s\n", strerror(saved_errno));
		return saved_errno == error ? 0 : 1;
	}
	execvp(argv[arg], argv + arg);
	fprintf(stderr, "no-uring: cannot run %s: %s\n", argv[arg], strerror(errno));
	return 127;
#endif
}
