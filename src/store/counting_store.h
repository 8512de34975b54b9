// SPDX-License-Identifier: Apache-2.0
// CountingStore: counts the requests and bytes that pass through it, by kind, and estimates
// what they would cost on S3 Standard (docs/design.md §13). The engine reports requests per
// operation and dollars per million operations from these counters.
//
// Counting rules (as S3 bills): every request is counted, including those that fail (a lost
// conditional put is billed too); DeleteMany counts one DELETE request per 1,000 keys (S3's
// DeleteObjects batch size); bytes are payload bytes (GET: bytes returned, PUT: bytes sent).
//
// Thread-safety: thread-safe; counters are atomics, Snapshot() reads each one atomically (a
// snapshot taken while requests run is not one instant across counters).
#ifndef CLOUDKV_STORE_COUNTING_STORE_H_
#define CLOUDKV_STORE_COUNTING_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "cloudkv/options.h"
#include "store/store_wrapper.h"

namespace cloudkv {

struct StoreCounters {
  std::array<uint64_t, kNumStoreOps> requests{};  // indexed by StoreOp
  std::array<uint64_t, kNumStoreOps> errors{};    // requests that returned an error
  uint64_t get_bytes = 0;                         // payload bytes returned by GETs
  uint64_t put_bytes = 0;                         // payload bytes sent by PUTs

  uint64_t Requests(StoreOp op) const { return requests[static_cast<size_t>(op)]; }
  uint64_t Errors(StoreOp op) const { return errors[static_cast<size_t>(op)]; }
  uint64_t TotalRequests() const;
  // Request cost at `prices` (default: S3 Standard, PUT and LIST $0.005 per 1,000, GET and
  // HEAD $0.0004 per 1,000, DELETE free). Storage and transfer are not included.
  double EstimatedCostDollars(const RequestPrices& prices = {}) const;
  // Counter-wise difference, for the requests made between two snapshots.
  // REQUIRES: every counter of `earlier` <= the one of *this.
  StoreCounters operator-(const StoreCounters& earlier) const;
};

class CountingStore final : public ObjectStoreWrapper {
 public:
  explicit CountingStore(std::shared_ptr<ObjectStore> base) : ObjectStoreWrapper(std::move(base)) {}

  using ObjectStore::Get;
  using ObjectStore::List;
  using ObjectStore::Put;

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  Status DeleteMany(std::span<const std::string> keys) override;
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override;

  StoreCounters Snapshot() const;
  double EstimatedCostDollars() const { return Snapshot().EstimatedCostDollars(); }
  // Sets every counter to zero.
  void Reset();

 private:
  void Count(StoreOp op, uint64_t requests, bool failed);

  std::array<std::atomic<uint64_t>, kNumStoreOps> requests_{};
  std::array<std::atomic<uint64_t>, kNumStoreOps> errors_{};
  std::atomic<uint64_t> get_bytes_{0};
  std::atomic<uint64_t> put_bytes_{0};
};

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_COUNTING_STORE_H_
