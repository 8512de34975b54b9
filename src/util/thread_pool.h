// SPDX-License-Identifier: Apache-2.0
// A pool of threads running queued tasks in FIFO order. The queue is bounded only by the callers
// (every user of the pool bounds what it submits: in-flight uploads, parallel reads).
// A fixed pool starts all its threads at once; an on-demand pool (for blocking object reads,
// where the number in flight should follow the callers) starts a thread whenever a task is
// queued and no thread is idle, up to its maximum, and keeps it.
//
// Thread-safety: Submit may be called from any thread, including from a task.
#ifndef CLOUDKV_UTIL_THREAD_POOL_H_
#define CLOUDKV_UTIL_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cloudkv {

class ThreadPool {
 public:
  enum class Start { kAllNow, kOnDemand };
  ThreadPool(int threads, std::string name, Start start = Start::kAllNow);
  // Runs every task already queued, then joins the threads.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  size_t QueueLength();
  size_t NumThreads();

 private:
  void Run();
  void StartThreadLocked();

  const size_t max_threads_;
  const std::string name_;
  std::mutex mu_;
  size_t idle_ = 0;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_UTIL_THREAD_POOL_H_
