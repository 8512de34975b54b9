// SPDX-License-Identifier: Apache-2.0
// An annotated mutex wrapper. Under Clang, -Wthread-safety checks GUARDED_BY/REQUIRES; under
// GCC the annotations compile to nothing but still document the locking discipline.
#ifndef CLOUDKV_UTIL_MUTEX_H_
#define CLOUDKV_UTIL_MUTEX_H_

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define CLOUDKV_TSA(x) __attribute__((x))
#else
#define CLOUDKV_TSA(x)
#endif

#define CAPABILITY(x) CLOUDKV_TSA(capability(x))
#define SCOPED_CAPABILITY CLOUDKV_TSA(scoped_lockable)
#define GUARDED_BY(x) CLOUDKV_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) CLOUDKV_TSA(pt_guarded_by(x))
#define REQUIRES(...) CLOUDKV_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) CLOUDKV_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRED_AFTER(...) CLOUDKV_TSA(acquired_after(__VA_ARGS__))
#define ACQUIRE(...) CLOUDKV_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) CLOUDKV_TSA(release_capability(__VA_ARGS__))

namespace cloudkv {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope. Unlock() and Lock() drop and retake it inside the scope (around
// I/O); the destructor releases it only if held.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() {
    if (locked_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    assert(locked_);
    locked_ = false;
    mu_->Unlock();
  }
  void Lock() ACQUIRE() {
    assert(!locked_);
    mu_->Lock();
    locked_ = true;
  }

 private:
  Mutex* const mu_;
  bool locked_ = true;
};

// A condition variable bound to a Mutex. The waits take that mutex again as an argument, so
// that Clang's analysis can check it is held (it cannot see that a member pointer and the
// caller's mutex are the same object).
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  // REQUIRES: mu is the mutex this was built with.
  void Wait(Mutex* mu) REQUIRES(mu) {
    assert(mu == mu_);
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Returns false on timeout.
  bool WaitFor(Mutex* mu, std::chrono::microseconds timeout) REQUIRES(mu) {
    assert(mu == mu_);
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    bool signalled = cv_.wait_for(lock, timeout) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  // Returns false once `deadline` has passed.
  bool WaitUntil(Mutex* mu, std::chrono::steady_clock::time_point deadline) REQUIRES(mu) {
    assert(mu == mu_);
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    bool signalled = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  Mutex* const mu_;
  std::condition_variable cv_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_UTIL_MUTEX_H_
