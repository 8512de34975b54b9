// SPDX-License-Identifier: Apache-2.0
// Small POSIX helpers for the file:// backend: an owning file descriptor, errno-to-Status
// mapping, and loops that finish partial reads and writes.
//
// Thread-safety: UniqueFd is a value owned by one thread at a time; the functions are
// thread-safe.
#ifndef CLOUDKV_STORE_POSIX_FILE_H_
#define CLOUDKV_STORE_POSIX_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "cloudkv/status.h"

namespace cloudkv {

// Owns a file descriptor; closes it on destruction (errors from that close are ignored, so
// call Close() where a failed close matters, e.g. after writing).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the descriptor; returns the errno of a failed close(2), 0 on success.
  int Close();

 private:
  int fd_ = -1;
};

// IOError for a failed system call: "<what> '<path>': <strerror>". Transient conditions
// (EINTR, EAGAIN, EMFILE, ENFILE, ENOMEM, EBUSY) are marked retryable; everything else
// (ENOSPC, EACCES, EROFS, EIO...) is not.
Status PosixError(std::string_view what, std::string_view path, int err);

// Writes all of `data` at the current offset, retrying on EINTR and short writes.
// Returns 0 or the errno.
int WriteFully(int fd, std::string_view data);

// Writes all of `data` at `offset` (pwrite(2)), retrying on EINTR and short writes. Returns 0
// or the errno.
int PwriteFully(int fd, std::string_view data, uint64_t offset);

// Reads exactly `length` bytes at `offset` into `out` (which must have room). Returns 0, the
// errno, or -1 when the file ended early.
int PreadFully(int fd, char* out, uint64_t length, uint64_t offset);

// fsync(2), retried on EINTR. Returns 0 or the errno.
int FsyncFd(int fd);

// fdatasync(2), retried on EINTR. Returns 0 or the errno.
int FdatasyncFd(int fd);

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_POSIX_FILE_H_
