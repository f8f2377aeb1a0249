// Linux system calls that Swift's Glibc module does not export (glibc declares them only with _GNU_SOURCE or in
// headers the module leaves out). Each wrapper returns what the system call returns and leaves the error in errno.
#ifndef STINT_CSYSTEMCALLS_SHIM_H
#define STINT_CSYSTEMCALLS_SHIM_H

#include <stddef.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/// pidfd_open(2) with no flags: a descriptor that becomes readable when process `pid` exits (Linux 5.3 or later).
static inline int stint_pidfd_open(pid_t pid) {
    return (int)syscall(__NR_pidfd_open, pid, 0);
}

/// sync_file_range(2) over the whole file with SYNC_FILE_RANGE_WRITE (2 in linux/fs.h): starts writeback of the
/// dirty pages of `fd` without waiting for it.
static inline int stint_start_writeback(int fd) {
    return (int)syscall(__NR_sync_file_range, fd, (long long)0, (long long)0, 2u);
}

/// copy_file_range(2) from the current offset of `input` to the current offset of `output`, at most `length` bytes.
static inline ssize_t stint_copy_file_range(int input, int output, size_t length) {
    return (ssize_t)syscall(__NR_copy_file_range, input, NULL, output, NULL, length, 0u);
}

#endif
