/* The floor under a nothing-changed rebuild (bench/build (b)): a process
 * that makes only the system calls no such rebuild can skip -- open each
 * directory, list it, lstat each entry, close it -- on as many threads as
 * berth's context walk uses, and nothing else (no sorting, no cache, no
 * hashing, no libraries but libc). berth (b) / this is what berth adds on
 * top of the machine.
 *
 *   walk_floor DIR [THREADS]   prints the number of entries seen */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_THREADS 4 /* BLD_WALK_MAX_THREADS */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int *queue;
static size_t nqueue, capqueue;
static size_t busy;    /* directories queued or being read */
static long entries;
static int failed;     /* an errno, set from any thread */

static void push(int fd)
{
	if (nqueue == capqueue) {
		capqueue = capqueue ? capqueue * 2 : 256;
		queue = realloc(queue, capqueue * sizeof(*queue));
		if (!queue) {
			perror("walk_floor");
			exit(1);
		}
	}
	queue[nqueue++] = fd;
	busy++;
	pthread_cond_signal(&cv);
}

static long read_dir(int fd)
{
	char buf[16384] __attribute__((aligned(8)));
	long n = 0;
	ssize_t got;
	while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t pos = 0; pos < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + pos);
			pos += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			struct stat st;
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				__atomic_store_n(&failed, errno, __ATOMIC_RELAXED);
				continue;
			}
			n++;
			if (!S_ISDIR(st.st_mode))
				continue;
			int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				__atomic_store_n(&failed, errno, __ATOMIC_RELAXED);
				continue;
			}
			pthread_mutex_lock(&mu);
			push(sub);
			pthread_mutex_unlock(&mu);
		}
	}
	if (got < 0)
		__atomic_store_n(&failed, errno, __ATOMIC_RELAXED);
	close(fd);
	return n;
}

static void *worker(void *arg)
{
	pthread_mutex_lock(&mu);
	for (;;) {
		while (nqueue == 0 && busy > 0)
			pthread_cond_wait(&cv, &mu);
		if (busy == 0)
			break;
		int fd = queue[--nqueue];
		pthread_mutex_unlock(&mu);
		long n = read_dir(fd);
		pthread_mutex_lock(&mu);
		entries += n;
		if (--busy == 0)
			pthread_cond_broadcast(&cv);
	}
	pthread_mutex_unlock(&mu);
	return arg;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: walk_floor DIR [THREADS]\n");
		return 2;
	}
	int nth = 0;
	if (argc > 2) {
		nth = atoi(argv[2]);
	} else {
		cpu_set_t set;
		nth = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	}
	if (nth < 1)
		nth = 1;
	if (nth > MAX_THREADS)
		nth = MAX_THREADS;
	int fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	push(fd);
	pthread_t th[MAX_THREADS];
	for (int i = 1; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			nth = i;
	worker(NULL);
	for (int i = 1; i < nth; i++)
		pthread_join(th[i], NULL);
	if (failed) { /* the threads are joined */
		fprintf(stderr, "walk_floor: %s\n", strerror(failed));
		return 1;
	}
	printf("%ld\n", entries);
	return 0;
}
