// A fixed-size pool of threads running queued tasks in FIFO order. The queue is bounded only by
// the callers (every user of the pool bounds what it submits: in-flight uploads, parallel reads).
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
  ThreadPool(int threads, std::string name);
  // Runs every task already queued, then joins the threads.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  size_t QueueLength();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_UTIL_THREAD_POOL_H_
