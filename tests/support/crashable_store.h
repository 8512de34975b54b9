// SPDX-License-Identifier: Apache-2.0
// CrashableStore: a pass-through ObjectStore with a kill switch, used to simulate the crash of
// the process that owns it. After Kill(), every request fails at once (as if the process were
// gone), so the dropped DB can make no further progress; what happens to requests already
// handed to a lower FaultInjectingStore is decided there (land now, later, or never).
#ifndef CLOUDKV_TESTS_SUPPORT_CRASHABLE_STORE_H_
#define CLOUDKV_TESTS_SUPPORT_CRASHABLE_STORE_H_

#include <atomic>
#include <memory>

#include "cloudkv/object_store.h"

namespace cloudkv {

class CrashableStore final : public ObjectStore {
 public:
  explicit CrashableStore(std::shared_ptr<ObjectStore> base) : base_(std::move(base)) {}

  void Kill() { dead_ = true; }

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override {
    if (dead_) return Dead();
    return base_->Get(key, range);
  }
  Result<ObjectInfo> Head(std::string_view key) override {
    if (dead_) return Dead();
    return base_->Head(key);
  }
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override {
    if (dead_) return Dead();
    return base_->Put(key, data, options);
  }
  Status Delete(std::string_view key) override {
    if (dead_) return Dead();
    return base_->Delete(key);
  }
  Status DeleteMany(std::span<const std::string> keys) override {
    if (dead_) return Dead();
    return base_->DeleteMany(keys);
  }
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override {
    if (dead_) return Dead();
    return base_->List(prefix, start_after, limit);
  }
  StoreCapabilities capabilities() const override { return base_->capabilities(); }
  std::string Describe() const override { return base_->Describe(); }

 private:
  static Status Dead() { return Status::IOError("simulated crash: process is gone", true); }

  const std::shared_ptr<ObjectStore> base_;
  std::atomic<bool> dead_{false};
};

}  // namespace cloudkv

#endif  // CLOUDKV_TESTS_SUPPORT_CRASHABLE_STORE_H_
