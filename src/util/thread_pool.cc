// SPDX-License-Identifier: Apache-2.0
#include "util/thread_pool.h"

#include <pthread.h>

#include <cassert>

namespace cloudkv {

ThreadPool::ThreadPool(int threads, std::string name, Start start)
    : max_threads_(static_cast<size_t>(threads)), name_(std::move(name)) {
  assert(threads > 0);
  if (start == Start::kAllNow) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < threads; i++) StartThreadLocked();
  }
}

void ThreadPool::StartThreadLocked() {
  threads_.emplace_back([this] { Run(); });
  std::string thread_name = name_.substr(0, 10) + "-" + std::to_string(threads_.size() - 1);
  pthread_setname_np(threads_.back().native_handle(), thread_name.substr(0, 15).c_str());
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
    // Every queued task beyond the idle threads would wait: start one more (kOnDemand).
    if (queue_.size() > idle_ && threads_.size() < max_threads_) StartThreadLocked();
  }
  cv_.notify_one();
}

size_t ThreadPool::NumThreads() {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size();
}

size_t ThreadPool::QueueLength() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void ThreadPool::Run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      idle_++;
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      idle_--;
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace cloudkv
