// SPDX-License-Identifier: Apache-2.0
// LatencyStore: makes a fast store (memory://, file://) behave like a remote one by sleeping
// on the injected Clock before and after each request. Per-request latency is drawn from a
// lognormal distribution given by its median and 99th percentile; transfer time is the payload
// size over a per-request bandwidth. Draws come from one seeded generator, so a single-threaded
// run with a ManualClock is reproducible to the microsecond.
//
// Where the time goes: a read waits its first-byte latency before the wrapped call and its
// transfer time after it; a write waits its transfer time plus half its latency before the
// wrapped call (the upload) and the other half after it (the response).
//
// Thread-safety: thread-safe; requests sleep concurrently, only the draw is serialized.
#ifndef CLOUDKV_STORE_LATENCY_STORE_H_
#define CLOUDKV_STORE_LATENCY_STORE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cloudkv/clock.h"
#include "store/store_wrapper.h"
#include "util/mutex.h"
#include "util/random.h"

namespace cloudkv {

// A lognormal latency: median and 99th percentile in milliseconds. REQUIRES: 0 < median <= p99.
struct LatencyDistribution {
  double median_ms = 0;
  double p99_ms = 0;
};

struct LatencyProfile {
  std::string name;
  std::array<LatencyDistribution, kNumStoreOps> latency{};  // indexed by StoreOp
  double bytes_per_second = 0;                              // per request; 0 = unlimited
  double max_latency_ms = 2000;                             // cap on one latency draw
  // What the wrapped store reports as its latency class (StoreCapabilities::latency_class), so
  // that the engine picks the defaults it would pick on the store being simulated.
  StoreLatencyClass latency_class = StoreLatencyClass::kLocal;

  LatencyDistribution& For(StoreOp op) { return latency[static_cast<size_t>(op)]; }
  const LatencyDistribution& For(StoreOp op) const { return latency[static_cast<size_t>(op)]; }

  // S3 Standard from a client in the same region: first byte p50 25 ms / p99 90 ms for GET,
  // PUT p50 30 ms / p99 100 ms, LIST p50 40 ms / p99 120 ms, about 90 MB/s per request.
  // Latency class kRemote.
  static LatencyProfile S3Standard();
  // Sub-millisecond latencies (p50 0.2 ms, p99 1 ms, 1 GB/s), for tests that want the code
  // paths of a remote store without its cost. Latency class kLocal.
  static LatencyProfile Fast();
  // "s3" or "fast"; InvalidArgument naming the value otherwise.
  static Result<LatencyProfile> ByName(std::string_view name);
};

class LatencyStore final : public ObjectStoreWrapper {
 public:
  // `clock` defaults to SystemClock(); pass a ManualClock to make time virtual.
  LatencyStore(std::shared_ptr<ObjectStore> base, LatencyProfile profile, uint64_t seed,
               std::shared_ptr<Clock> clock = nullptr);

  using ObjectStore::Get;
  using ObjectStore::List;
  using ObjectStore::Put;

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  // One DELETE latency per 1,000 keys (S3's DeleteObjects batch).
  Status DeleteMany(std::span<const std::string> keys) override;
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override;
  // The base's capabilities with the profile's latency_class.
  StoreCapabilities capabilities() const override;
  std::string Describe() const override;

  const LatencyProfile& profile() const { return profile_; }
  // Draws one latency of `op` in microseconds (advances the generator).
  uint64_t DrawLatencyMicros(StoreOp op);
  // The transfer time of `bytes` at the profile's bandwidth, in microseconds.
  uint64_t TransferMicros(uint64_t bytes) const;

 private:
  void Sleep(uint64_t micros);

  // Constant after construction.
  const LatencyProfile profile_;
  const std::shared_ptr<Clock> clock_;

  Mutex mu_;
  Random rng_ GUARDED_BY(mu_);
};

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_LATENCY_STORE_H_
