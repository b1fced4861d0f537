/* berth-no-openat2 ENOSYS|EPERM CMD [ARG]...: runs CMD where openat2 fails
 * with that errno, as on a kernel before 5.6 (ENOSYS) or under a seccomp
 * profile that predates the call (Docker's before 20.10: EPERM). The
 * filter is inherited by everything CMD starts. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "no_openat2.h"

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "ENOSYS") && strcmp(argv[1], "EPERM"))) {
		fprintf(stderr, "usage: berth-no-openat2 ENOSYS|EPERM CMD [ARG]...\n");
		return 2;
	}
	if (no_openat2(!strcmp(argv[1], "ENOSYS") ? ENOSYS : EPERM) < 0) {
		perror("berth-no-openat2: seccomp");
		return 1;
	}
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
