// SPDX-License-Identifier: Apache-2.0
// Metrics: per-command call counts, errors and latency histograms, rendered in the Prometheus
// text format (with the engine's and the object store's figures) by the metrics endpoint.
//
// Thread-safety: Record is lock-free and safe from any thread.
#ifndef CLOUDKV_SERVER_METRICS_H_
#define CLOUDKV_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "cloudkv/db.h"

namespace cloudkv::server {

class Metrics {
 public:
  // Histogram bucket upper bounds in microseconds (+Inf implied).
  static constexpr std::array<uint64_t, 14> kBucketsUs = {
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000};

  struct Command {
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> total_us{0};
    std::array<std::atomic<uint64_t>, kBucketsUs.size() + 1> buckets{};
  };

  explicit Metrics(size_t commands)
      : commands_(std::make_unique<Command[]>(commands)), size_(commands) {}

  void Record(size_t command, uint64_t latency_us, bool error);
  const Command& command(size_t i) const { return commands_[i]; }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<Command[]> commands_;
  size_t size_;
};

struct ServerState;
// The Prometheus exposition text of everything the server knows.
std::string RenderPrometheus(ServerState& state);

// The object-store request counts by kind, named as INFO (store_<kind>_requests) and /metrics
// (cloudkv_store_requests_total{kind}) name them.
std::array<std::pair<const char*, uint64_t>, 5> StoreRequestsByKind(
    const DBStats::StoreRequests& r);

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_METRICS_H_
