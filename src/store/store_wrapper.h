// SPDX-License-Identifier: Apache-2.0
// ObjectStoreWrapper: the base of every ObjectStore decorator (fault injection, simulated
// latency, request counting). It forwards each call to the wrapped store; a decorator overrides
// what it changes. FindWrappedStore walks a chain of wrappers to find one of a given type, e.g.
// the CountingStore whose counters the metrics report.
//
// Thread-safety: as ObjectStore; the wrapped store is fixed at construction.
#ifndef CLOUDKV_STORE_STORE_WRAPPER_H_
#define CLOUDKV_STORE_STORE_WRAPPER_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "cloudkv/object_store.h"

namespace cloudkv {

// The kinds of object-store request, for per-kind rates, latencies and counters.
enum class StoreOp : uint8_t { kGet = 0, kHead, kPut, kDelete, kList };
inline constexpr size_t kNumStoreOps = 5;
// "get", "head", "put", "delete", "list".
std::string_view StoreOpName(StoreOp op);

class ObjectStoreWrapper : public ObjectStore {
 public:
  // REQUIRES: base != nullptr.
  explicit ObjectStoreWrapper(std::shared_ptr<ObjectStore> base) : base_(std::move(base)) {
    assert(base_ != nullptr);
  }

  // The wrapped store; never null.
  const std::shared_ptr<ObjectStore>& base() const { return base_; }

  using ObjectStore::Get;
  using ObjectStore::List;
  using ObjectStore::Put;

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override {
    return base_->Get(key, range);
  }
  Result<ObjectInfo> Head(std::string_view key) override { return base_->Head(key); }
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override {
    return base_->Put(key, data, options);
  }
  Status Delete(std::string_view key) override { return base_->Delete(key); }
  Status DeleteMany(std::span<const std::string> keys) override { return base_->DeleteMany(keys); }
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override {
    return base_->List(prefix, start_after, limit);
  }
  StoreCapabilities capabilities() const override { return base_->capabilities(); }
  std::string Describe() const override { return base_->Describe(); }

 private:
  const std::shared_ptr<ObjectStore> base_;
};

// Returns the outermost store of type T in the chain that starts at `store` (itself included)
// and follows ObjectStoreWrapper::base(), or nullptr. The result lives as long as `store`.
template <typename T>
T* FindWrappedStore(ObjectStore* store) {
  while (store != nullptr) {
    if (auto* found = dynamic_cast<T*>(store)) return found;
    auto* wrapper = dynamic_cast<ObjectStoreWrapper*>(store);
    store = wrapper == nullptr ? nullptr : wrapper->base().get();
  }
  return nullptr;
}

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_STORE_WRAPPER_H_
