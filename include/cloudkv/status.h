// SPDX-License-Identifier: Apache-2.0
// Status and Result<T>: how every cloudkv operation reports success or failure.
//
// A Status is OK or carries a code and a message. The codes separate what callers must treat
// differently (see STYLE.md): NotFound, PreconditionFailed (lost a compare-and-swap race),
// Fenced (a newer writer owns the database), Corruption (bytes read back do not verify; the
// message names the object and offset), IOError (with a retryable flag), InvalidArgument,
// Busy, TimedOut and NotSupported. No exceptions cross the API.
//
// Result<T> holds either a value or a non-OK Status, never an OK status without a value.
//
// Thread-safety: Status and Result are values; distinct objects may be used from different
// threads, a shared one only for reading.
#ifndef CLOUDKV_STATUS_H_
#define CLOUDKV_STATUS_H_

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace cloudkv {

enum class StatusCode : uint8_t {
  kOk = 0,
  kNotFound,
  kPreconditionFailed,
  kFenced,
  kCorruption,
  kIOError,
  kInvalidArgument,
  kBusy,
  kTimedOut,
  kNotSupported,
};

// Returns a stable name such as "NotFound".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(StatusCode::kNotFound, msg); }
  static Status PreconditionFailed(std::string_view msg) {
    return Status(StatusCode::kPreconditionFailed, msg);
  }
  static Status Fenced(std::string_view msg) { return Status(StatusCode::kFenced, msg); }
  static Status Corruption(std::string_view msg) { return Status(StatusCode::kCorruption, msg); }
  // `retryable` says that the same request may succeed if sent again (a timeout, a reset
  // connection, a 5xx); a non-retryable IOError (no space, permission denied) will not.
  static Status IOError(std::string_view msg, bool retryable = false) {
    Status s(StatusCode::kIOError, msg);
    s.retryable_ = retryable;
    return s;
  }
  static Status InvalidArgument(std::string_view msg) {
    return Status(StatusCode::kInvalidArgument, msg);
  }
  static Status Busy(std::string_view msg) { return Status(StatusCode::kBusy, msg); }
  static Status TimedOut(std::string_view msg) { return Status(StatusCode::kTimedOut, msg); }
  static Status NotSupported(std::string_view msg) {
    return Status(StatusCode::kNotSupported, msg);
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // True for IOError raised by a condition that may pass (and for TimedOut).
  bool retryable() const { return retryable_ || code_ == StatusCode::kTimedOut; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsPreconditionFailed() const { return code_ == StatusCode::kPreconditionFailed; }
  bool IsFenced() const { return code_ == StatusCode::kFenced; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsIOError() const { return code_ == StatusCode::kIOError; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsBusy() const { return code_ == StatusCode::kBusy; }
  bool IsTimedOut() const { return code_ == StatusCode::kTimedOut; }
  bool IsNotSupported() const { return code_ == StatusCode::kNotSupported; }

  // "OK" or "<Code>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(StatusCode code, std::string_view msg) : code_(code), message_(msg) {}

  StatusCode code_ = StatusCode::kOk;
  bool retryable_ = false;
  std::string message_;
};

// Either a value of type T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  // REQUIRES: !status.ok(). An OK status without a value is a programming error; it is
  // turned into an internal InvalidArgument so release builds still never yield a fake value.
  Result(Status status) : status_(std::move(status)) {  // NOLINT(runtime/explicit)
    assert(!status_.ok() && "Result constructed from an OK Status without a value");
    if (status_.ok()) status_ = Status::InvalidArgument("internal: OK Result without a value");
  }
  Result(T value) : value_(std::move(value)) {}  // NOLINT(runtime/explicit)

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  // REQUIRES: ok().
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_STATUS_H_
