// CountingStore: an ObjectStore wrapper that counts requests and bytes by kind, so INFO and the
// metrics endpoint can show object-store traffic and its estimated cost (S3 Standard prices).
//
// Thread-safety: like the wrapped store; counters are atomics.
#ifndef CLOUDKV_SERVER_COUNTING_STORE_H_
#define CLOUDKV_SERVER_COUNTING_STORE_H_

#include <atomic>
#include <memory>

#include "cloudkv/object_store.h"

namespace cloudkv::server {

struct StoreCounts {
  uint64_t gets = 0, heads = 0, puts = 0, deletes = 0, lists = 0, errors = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
  // US dollars at S3 Standard list prices: PUT/LIST $0.005 per 1000, GET/HEAD $0.0004 per
  // 1000, DELETE free (transfer and storage not included).
  double EstimatedRequestCostUsd() const;
};

class CountingStore : public ObjectStore {
 public:
  explicit CountingStore(std::shared_ptr<ObjectStore> base) : base_(std::move(base)) {}

  StoreCounts counts() const;

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  Status DeleteMany(std::span<const std::string> keys) override;
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override;
  StoreCapabilities capabilities() const override { return base_->capabilities(); }
  std::string Describe() const override { return base_->Describe(); }

 private:
  std::shared_ptr<ObjectStore> base_;
  std::atomic<uint64_t> gets_{0}, heads_{0}, puts_{0}, deletes_{0}, lists_{0}, errors_{0};
  std::atomic<uint64_t> bytes_read_{0}, bytes_written_{0};
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_COUNTING_STORE_H_
