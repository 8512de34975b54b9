// SPDX-License-Identifier: Apache-2.0
// FaultInjectingStore: an ObjectStore wrapper that makes requests fail the ways remote stores
// fail, so the engine's retry, ambiguity and fencing logic can be tested (cf. RocksDB's
// utilities/fault_injection_fs.h). Each request may get one fault:
//
//   kError          the request fails before it takes effect: retryable IOError.
//   kLostResponse   the request takes effect, then its response is lost: the caller sees a
//                   retryable IOError ("response lost") although the write happened.
//   kDefer          (put and delete only) the request is held in a pending queue and the caller
//                   gets a retryable IOError ("timed out") at once. The request lands later —
//                   after newer requests, or never — when the test calls ApplyPending, Crash or
//                   DropPending. A conditional put evaluates its condition when it lands, as a
//                   real server would; the result of a landing is reported to the test only.
//
// Faults are chosen, in this order, by: ForceNext (exact counts per kind, for scripted tests),
// the decider hook (for deterministic simulations that choose per request), and a seeded random
// draw against the per-kind rates. With one thread the sequence of faults is reproducible from
// the seed; with several threads it depends on their interleaving. Requests with invalid keys
// pass through untouched. Every injected fault is logged at info level (op, key, kind).
//
// Pending requests are dropped (never land) when the store is destroyed. Their number is
// bounded by FaultOptions::max_pending: deferring beyond it drops the oldest pending request.
//
// Thread-safety: thread-safe. No lock is held while calling the wrapped store or the decider.
#ifndef CLOUDKV_STORE_FAULT_INJECTING_STORE_H_
#define CLOUDKV_STORE_FAULT_INJECTING_STORE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/clock.h"
#include "store/store_wrapper.h"
#include "util/mutex.h"
#include "util/random.h"

namespace cloudkv {

enum class FaultKind : uint8_t { kNone = 0, kError, kLostResponse, kDefer };
inline constexpr size_t kNumFaultKinds = 4;
// "none", "error", "lost", "defer".
std::string_view FaultKindName(FaultKind kind);

// Probabilities of each fault for one kind of request. REQUIRES: each in [0, 1], sum <= 1,
// defer == 0 for get, head and list.
struct FaultRates {
  double error = 0;
  double lost = 0;
  double defer = 0;
};

struct FaultOptions {
  uint64_t seed = 0;
  std::array<FaultRates, kNumStoreOps> rates{};  // indexed by StoreOp; all zero = no faults
  // Added to every request (slept on `clock`, SystemClock() when null). 0 = none.
  uint64_t latency_micros = 0;
  std::shared_ptr<Clock> clock;
  // Most requests held at once; deferring one more drops the oldest (it never lands).
  size_t max_pending = 1024;

  FaultRates& For(StoreOp op) { return rates[static_cast<size_t>(op)]; }
  const FaultRates& For(StoreOp op) const { return rates[static_cast<size_t>(op)]; }
  // Checks the REQUIREs above; InvalidArgument naming the bad rate.
  Status Validate() const;
};

// What the decider hook and ForceNext see of a request.
struct FaultRequest {
  StoreOp op;
  std::string_view key;  // for list: the prefix
  PutMode mode;          // put only
  uint64_t sequence;     // 0, 1, 2... in the order requests reached the store
};
// Returns the fault for a request, or nullopt to fall back to the random draw.
using FaultDecider = std::function<std::optional<FaultKind>(const FaultRequest&)>;

// A deferred request, as the test sees it.
struct PendingRequest {
  uint64_t id;  // unique per store, increasing in deferral order
  StoreOp op;   // kPut or kDelete
  std::string key;
  PutMode mode;
  size_t bytes;
};

// A deferred request that landed, and what the wrapped store answered.
struct LandedRequest {
  PendingRequest request;
  Status status;
};

struct FaultCounts {
  // injected[op][kind]: faults injected, by kind of request and fault (kNone counts requests
  // that passed untouched).
  std::array<std::array<uint64_t, kNumFaultKinds>, kNumStoreOps> injected{};
  uint64_t landed = 0;   // deferred requests applied to the wrapped store
  uint64_t dropped = 0;  // deferred requests that will never land

  uint64_t Get(StoreOp op, FaultKind kind) const {
    return injected[static_cast<size_t>(op)][static_cast<size_t>(kind)];
  }
  // All injected faults of `kind` over every kind of request.
  uint64_t Total(FaultKind kind) const;
};

// Parses the `faults=` URL option, "OP_FAULT:RATE[,OP_FAULT:RATE...]" with OP one of get,
// head, put, delete, list, all and FAULT one of error, lost, defer (e.g.
// "put_error:0.01,all_lost:0.001"), into options->rates. InvalidArgument naming the option and
// value otherwise. (Defined in wrappers.cc.)
Status ParseFaultSpec(std::string_view spec, FaultOptions* options);

class FaultInjectingStore final : public ObjectStoreWrapper {
 public:
  // REQUIRES: options.Validate().ok().
  FaultInjectingStore(std::shared_ptr<ObjectStore> base, FaultOptions options);
  ~FaultInjectingStore() override;

  using ObjectStore::Get;
  using ObjectStore::List;
  using ObjectStore::Put;

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  // Deletes key by key, each with its own fault (so a batch can fail part-way, as S3's
  // DeleteObjects can).
  Status DeleteMany(std::span<const std::string> keys) override;
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override;
  std::string Describe() const override;

  // Replaces the options and reseeds the generator with options.seed; pending requests stay.
  // REQUIRES: options.Validate().ok().
  void SetOptions(FaultOptions options);
  // Installs (or with nullptr removes) the decider hook.
  void SetDecider(FaultDecider decider);
  // The next `n` requests of kind `op` get `kind` (kNone: pass untouched), ahead of the decider
  // and the rates. Calls queue up in order. REQUIRES: kind != kDefer unless op is put/delete.
  void ForceNext(StoreOp op, FaultKind kind, size_t n = 1);

  size_t PendingCount() const;
  // The pending requests, oldest first.
  std::vector<PendingRequest> Pending() const;
  // Lands up to `n` pending requests (SIZE_MAX: all), chosen and ordered at random by `order`.
  std::vector<LandedRequest> ApplyPending(size_t n, Random& order);
  // Lands the pending request with this id; nullopt if it is not pending.
  std::optional<LandedRequest> ApplyPendingById(uint64_t id);
  // Forgets every pending request: none of them will ever land.
  void DropPending();
  // Simulates the client side crashing while requests are in flight: for each pending request,
  // in an order chosen by `seed`, the seed decides whether it lands now, stays pending (to land
  // at a later ApplyPending, or never after DropPending), or is dropped. Returns those landed.
  std::vector<LandedRequest> Crash(uint64_t seed);

  FaultCounts Counts() const;

 private:
  struct Deferred {
    PendingRequest request;
    std::string data;  // put only
    PutOptions options;
  };

  // Picks the fault for a request and counts it.
  FaultKind Decide(StoreOp op, std::string_view key, PutMode mode);
  void MaybeSleep();
  Status Injected(StoreOp op, std::string_view key, FaultKind kind) const;
  void Defer(StoreOp op, std::string_view key, std::string_view data, const PutOptions& options);
  LandedRequest Land(Deferred deferred);

  mutable Mutex mu_;
  FaultOptions options_ GUARDED_BY(mu_);
  Random rng_ GUARDED_BY(mu_);
  FaultDecider decider_ GUARDED_BY(mu_);
  std::array<std::deque<FaultKind>, kNumStoreOps> forced_ GUARDED_BY(mu_);
  std::deque<Deferred> pending_ GUARDED_BY(mu_);
  uint64_t next_pending_id_ GUARDED_BY(mu_) = 1;
  uint64_t sequence_ GUARDED_BY(mu_) = 0;
  FaultCounts counts_ GUARDED_BY(mu_);
};

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_FAULT_INJECTING_STORE_H_
