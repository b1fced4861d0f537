/* Opening a path inside a tree that may be hostile (a build context, a
 * rootfs a command ran in): symlinks, "..", absolute paths and swaps under
 * our feet must not take the open outside the tree.
 *
 * openat2 does this in the kernel. Where it is missing -- Linux before 5.6,
 * a seccomp profile that predates it (Docker's before 20.10 answers
 * EPERM), valgrind (which does not know the call) -- the same resolution
 * is done here, one component at a time: each opened O_PATH|O_NOFOLLOW
 * below the directory reached so far, a symlink read and its target
 * spliced into the rest of the path, ".." a step back along the
 * descriptors held, never above the first. A component swapped mid-walk
 * is never followed: the final open carries O_NOFOLLOW, and a component
 * that turns into a link between the look and the open fails (ELOOP).
 *
 * Both return a descriptor (O_CLOEXEC added) or -1 with errno as openat2
 * sets it. They take no mode: O_CREAT and O_TMPFILE are EINVAL. The
 * fallback is chosen once per process, when openat2 answers ENOSYS, or
 * EPERM also for "/". */
#ifndef BERTH_BOPEN_H
#define BERTH_BOPEN_H

/* openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): rootfd acts as "/",
 * for absolute paths and symlink targets alike; ".." stops at it. A
 * "magic" link (/proc/PID/fd/N and the like) is read as the text it
 * shows and resolved inside the root too: it never jumps out. O_NOFOLLOW
 * in flags applies to the last component. */
int bopen_in_root(int rootfd, const char *rel, int flags);

/* openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS):
 * no symlink anywhere (ELOOP; a link as the last component only with
 * O_PATH|O_NOFOLLOW, which opens the link itself); an absolute path or a
 * ".." above basefd is EXDEV. */
int bopen_beneath(int basefd, const char *rel, int flags);

/* The user-space resolutions alone (tests compare them with the kernel's) */
int bopen_in_root_walk(int rootfd, const char *rel, int flags);
int bopen_beneath_walk(int basefd, const char *rel, int flags);

#endif
