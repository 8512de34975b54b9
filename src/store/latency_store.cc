// SPDX-License-Identifier: Apache-2.0
#include "store/latency_store.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace cloudkv {
namespace {

// The 99th percentile of the standard normal distribution.
constexpr double kZ99 = 2.326347874;

LatencyProfile MakeProfile(std::string name, LatencyDistribution get, LatencyDistribution head,
                           LatencyDistribution put, LatencyDistribution del,
                           LatencyDistribution list, double bytes_per_second) {
  LatencyProfile p;
  p.name = std::move(name);
  p.For(StoreOp::kGet) = get;
  p.For(StoreOp::kHead) = head;
  p.For(StoreOp::kPut) = put;
  p.For(StoreOp::kDelete) = del;
  p.For(StoreOp::kList) = list;
  p.bytes_per_second = bytes_per_second;
  return p;
}

}  // namespace

LatencyProfile LatencyProfile::S3Standard() {
  LatencyProfile p = MakeProfile("s3", {25, 90}, {20, 80}, {30, 100}, {25, 80}, {40, 120}, 90e6);
  p.latency_class = StoreLatencyClass::kRemote;
  return p;
}

LatencyProfile LatencyProfile::Fast() {
  return MakeProfile("fast", {0.2, 1}, {0.2, 1}, {0.2, 1}, {0.2, 1}, {0.2, 1}, 1e9);
}

Result<LatencyProfile> LatencyProfile::ByName(std::string_view name) {
  if (name == "s3") return S3Standard();
  if (name == "fast") return Fast();
  return Status::InvalidArgument("option 'simulate': unknown profile '" + std::string(name) +
                                 "' (expected s3 or fast)");
}

LatencyStore::LatencyStore(std::shared_ptr<ObjectStore> base, LatencyProfile profile, uint64_t seed,
                           std::shared_ptr<Clock> clock)
    : ObjectStoreWrapper(std::move(base)),
      profile_(std::move(profile)),
      clock_(clock != nullptr ? std::move(clock) : SystemClock()),
      rng_(seed) {
  for (const LatencyDistribution& d : profile_.latency) {
    assert(d.median_ms > 0 && d.median_ms <= d.p99_ms);
    (void)d;
  }
}

uint64_t LatencyStore::DrawLatencyMicros(StoreOp op) {
  const LatencyDistribution& d = profile_.For(op);
  double u1, u2;
  {
    MutexLock lock(&mu_);
    u1 = rng_.NextDouble();
    u2 = rng_.NextDouble();
  }
  // Box-Muller: a standard normal from two uniforms (u1 in (0, 1] so the log is finite).
  double z = std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * M_PI * u2);
  double sigma = std::log(d.p99_ms / d.median_ms) / kZ99;
  double ms = std::min(d.median_ms * std::exp(sigma * z), profile_.max_latency_ms);
  return static_cast<uint64_t>(ms * 1000.0);
}

uint64_t LatencyStore::TransferMicros(uint64_t bytes) const {
  if (profile_.bytes_per_second <= 0) return 0;
  return static_cast<uint64_t>(static_cast<double>(bytes) * 1e6 / profile_.bytes_per_second);
}

void LatencyStore::Sleep(uint64_t micros) {
  if (micros > 0) clock_->SleepForMicros(micros);
}

Result<GetResult> LatencyStore::Get(std::string_view key, std::optional<ByteRange> range) {
  Sleep(DrawLatencyMicros(StoreOp::kGet));
  Result<GetResult> r = base()->Get(key, range);
  if (r.ok()) Sleep(TransferMicros(r->data.size()));
  return r;
}

Result<ObjectInfo> LatencyStore::Head(std::string_view key) {
  Sleep(DrawLatencyMicros(StoreOp::kHead));
  return base()->Head(key);
}

Result<std::string> LatencyStore::Put(std::string_view key, std::string_view data,
                                      const PutOptions& options) {
  uint64_t latency = DrawLatencyMicros(StoreOp::kPut);
  Sleep(TransferMicros(data.size()) + latency / 2);
  Result<std::string> r = base()->Put(key, data, options);
  Sleep(latency - latency / 2);
  return r;
}

Status LatencyStore::Delete(std::string_view key) {
  uint64_t latency = DrawLatencyMicros(StoreOp::kDelete);
  Sleep(latency / 2);
  Status s = base()->Delete(key);
  Sleep(latency - latency / 2);
  return s;
}

Status LatencyStore::DeleteMany(std::span<const std::string> keys) {
  uint64_t latency = 0;
  for (size_t batch = 0; batch < (keys.size() + 999) / 1000; batch++) {
    latency += DrawLatencyMicros(StoreOp::kDelete);
  }
  Sleep(latency / 2);
  Status s = base()->DeleteMany(keys);
  Sleep(latency - latency / 2);
  return s;
}

Result<ListResult> LatencyStore::List(std::string_view prefix, std::string_view start_after,
                                      size_t limit) {
  Sleep(DrawLatencyMicros(StoreOp::kList));
  return base()->List(prefix, start_after, limit);
}

StoreCapabilities LatencyStore::capabilities() const {
  StoreCapabilities c = base()->capabilities();
  c.latency_class = profile_.latency_class;
  return c;
}

std::string LatencyStore::Describe() const {
  return base()->Describe() + " (simulated " + profile_.name + " latency)";
}

}  // namespace cloudkv
