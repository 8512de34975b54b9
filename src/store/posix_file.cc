// SPDX-License-Identifier: Apache-2.0
#include "store/posix_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cloudkv {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() { Close(); }

int UniqueFd::Close() {
  if (fd_ < 0) return 0;
  // close(2) must not be retried on EINTR on Linux: the descriptor is gone either way.
  int rc = ::close(fd_);
  fd_ = -1;
  return rc == 0 ? 0 : errno;
}

Status PosixError(std::string_view what, std::string_view path, int err) {
  bool retryable = err == EINTR || err == EAGAIN || err == EMFILE || err == ENFILE ||
                   err == ENOMEM || err == EBUSY;
  std::string msg(what);
  msg += " '";
  msg += path;
  msg += "': ";
  msg += std::strerror(err);
  return Status::IOError(msg, retryable);
}

int WriteFully(int fd, std::string_view data) {
  // Linux writes at most 0x7ffff000 bytes per call; stay well below.
  constexpr size_t kMaxChunk = size_t{1} << 30;
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size() < kMaxChunk ? data.size() : kMaxChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

int PwriteFully(int fd, std::string_view data, uint64_t offset) {
  constexpr size_t kMaxChunk = size_t{1} << 30;  // as WriteFully
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size() < kMaxChunk ? data.size() : kMaxChunk,
                         static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

int PreadFully(int fd, char* out, uint64_t length, uint64_t offset) {
  constexpr uint64_t kMaxChunk = uint64_t{1} << 30;
  while (length > 0) {
    ssize_t n =
        ::pread(fd, out, length < kMaxChunk ? length : kMaxChunk, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return -1;
    out += n;
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return 0;
}

int FsyncFd(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int FdatasyncFd(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

}  // namespace cloudkv
