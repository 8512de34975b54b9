// SPDX-License-Identifier: Apache-2.0
// GatedStore: a pass-through ObjectStore whose puts to chosen keys wait at a gate until the
// test opens it. It holds requests "in flight" for as long as a test needs, to build exact
// interleavings (e.g. a writer with several WAL uploads in flight and a hole).
#ifndef CLOUDKV_TESTS_SUPPORT_GATED_STORE_H_
#define CLOUDKV_TESTS_SUPPORT_GATED_STORE_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "cloudkv/object_store.h"

namespace cloudkv {

class GatedStore final : public ObjectStore {
 public:
  explicit GatedStore(std::shared_ptr<ObjectStore> base) : base_(std::move(base)) {}

  // Puts to `key` wait until Open(key).
  void Close(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    closed_.insert(key);
  }
  void Open(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    closed_.erase(key);
    cv_.notify_all();
  }
  // Number of puts waiting at a gate now.
  int waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override {
    return base_->Get(key, range);
  }
  Result<ObjectInfo> Head(std::string_view key) override { return base_->Head(key); }
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      waiting_++;
      cv_.wait(lock, [&] { return closed_.count(std::string(key)) == 0; });
      waiting_--;
    }
    return base_->Put(key, data, options);
  }
  Status Delete(std::string_view key) override { return base_->Delete(key); }
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override {
    return base_->List(prefix, start_after, limit);
  }
  StoreCapabilities capabilities() const override { return base_->capabilities(); }
  std::string Describe() const override { return base_->Describe(); }

 private:
  const std::shared_ptr<ObjectStore> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> closed_;
  int waiting_ = 0;
};

}  // namespace cloudkv

#endif  // CLOUDKV_TESTS_SUPPORT_GATED_STORE_H_
