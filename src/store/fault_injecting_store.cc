// SPDX-License-Identifier: Apache-2.0
#include "store/fault_injecting_store.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "util/logging.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

bool Mutates(StoreOp op) { return op == StoreOp::kPut || op == StoreOp::kDelete; }

bool ValidRate(double p) { return p >= 0 && p <= 1; }

}  // namespace

std::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNone:
      return "none";
    case FaultKind::kError:
      return "error";
    case FaultKind::kLostResponse:
      return "lost";
    case FaultKind::kDefer:
      return "defer";
  }
  return "?";
}

uint64_t FaultCounts::Total(FaultKind kind) const {
  uint64_t total = 0;
  for (const auto& per_op : injected) total += per_op[static_cast<size_t>(kind)];
  return total;
}

Status FaultOptions::Validate() const {
  for (size_t i = 0; i < kNumStoreOps; i++) {
    const FaultRates& r = rates[i];
    std::string op(StoreOpName(static_cast<StoreOp>(i)));
    if (!ValidRate(r.error) || !ValidRate(r.lost) || !ValidRate(r.defer) ||
        r.error + r.lost + r.defer > 1.0 + 1e-9) {
      return Status::InvalidArgument("fault rates of " + op +
                                     " must be probabilities in [0, 1] summing to at most 1");
    }
    if (r.defer > 0 && !Mutates(static_cast<StoreOp>(i))) {
      return Status::InvalidArgument("fault 'defer' applies to put and delete only, not " + op);
    }
  }
  if (max_pending == 0) return Status::InvalidArgument("max_pending must be at least 1");
  return Status::OK();
}

FaultInjectingStore::FaultInjectingStore(std::shared_ptr<ObjectStore> base, FaultOptions options)
    : ObjectStoreWrapper(std::move(base)), options_(std::move(options)), rng_(options_.seed) {
  assert(options_.Validate().ok());
}

FaultInjectingStore::~FaultInjectingStore() {
  MutexLock lock(&mu_);
  if (!pending_.empty()) {
    LOG_INFO("fault injection: {}: {} pending requests dropped with the store", Describe(),
             pending_.size());
  }
}

void FaultInjectingStore::SetOptions(FaultOptions options) {
  assert(options.Validate().ok());
  MutexLock lock(&mu_);
  rng_ = Random(options.seed);
  options_ = std::move(options);
}

void FaultInjectingStore::SetDecider(FaultDecider decider) {
  MutexLock lock(&mu_);
  decider_ = std::move(decider);
}

void FaultInjectingStore::ForceNext(StoreOp op, FaultKind kind, size_t n) {
  assert(kind != FaultKind::kDefer || Mutates(op));
  MutexLock lock(&mu_);
  for (size_t i = 0; i < n; i++) forced_[static_cast<size_t>(op)].push_back(kind);
}

FaultKind FaultInjectingStore::Decide(StoreOp op, std::string_view key, PutMode mode) {
  const size_t op_index = static_cast<size_t>(op);
  FaultDecider decider;
  uint64_t sequence;
  std::optional<FaultKind> kind;
  {
    MutexLock lock(&mu_);
    sequence = sequence_++;
    if (!forced_[op_index].empty()) {
      kind = forced_[op_index].front();
      forced_[op_index].pop_front();
    } else {
      decider = decider_;
    }
  }
  // The decider runs without the lock: it may call back into this store (e.g. ForceNext).
  if (!kind && decider) kind = decider(FaultRequest{op, key, mode, sequence});
  MutexLock lock(&mu_);
  if (!kind) {
    const FaultRates& r = options_.rates[op_index];
    double u = rng_.NextDouble();
    if (u < r.error) {
      kind = FaultKind::kError;
    } else if (u < r.error + r.lost) {
      kind = FaultKind::kLostResponse;
    } else if (u < r.error + r.lost + r.defer) {
      kind = FaultKind::kDefer;
    } else {
      kind = FaultKind::kNone;
    }
  }
  // A decider may ask to defer a read; reads cannot land later, so they fail instead.
  if (*kind == FaultKind::kDefer && !Mutates(op)) kind = FaultKind::kError;
  counts_.injected[op_index][static_cast<size_t>(*kind)]++;
  if (*kind != FaultKind::kNone) {
    LOG_INFO("fault injection: {} {} '{}': {}", Describe(), StoreOpName(op), key,
             FaultKindName(*kind));
  }
  return *kind;
}

void FaultInjectingStore::MaybeSleep() {
  uint64_t micros;
  std::shared_ptr<Clock> clock;
  {
    MutexLock lock(&mu_);
    micros = options_.latency_micros;
    clock = options_.clock;
  }
  if (micros == 0) return;
  (clock != nullptr ? clock : SystemClock())->SleepForMicros(micros);
}

Status FaultInjectingStore::Injected(StoreOp op, std::string_view key, FaultKind kind) const {
  std::string what =
      std::string(StoreOpName(op)) + " '" + std::string(key) + "' on " + base()->Describe();
  switch (kind) {
    case FaultKind::kError:
      return Status::IOError("injected fault: " + what + " failed before taking effect", true);
    case FaultKind::kLostResponse:
      return Status::IOError("injected fault: response lost: " + what + " took effect", true);
    case FaultKind::kDefer:
      return Status::IOError("injected fault: " + what + " timed out (it may still land)", true);
    case FaultKind::kNone:
      break;
  }
  assert(false);
  return Status::OK();
}

Result<GetResult> FaultInjectingStore::Get(std::string_view key, std::optional<ByteRange> range) {
  if (!ValidateObjectKey(key).ok()) return base()->Get(key, range);
  MaybeSleep();
  FaultKind kind = Decide(StoreOp::kGet, key, PutMode::kOverwrite);
  if (kind == FaultKind::kError) return Injected(StoreOp::kGet, key, kind);
  Result<GetResult> r = base()->Get(key, range);
  if (kind == FaultKind::kLostResponse) return Injected(StoreOp::kGet, key, kind);
  return r;
}

Result<ObjectInfo> FaultInjectingStore::Head(std::string_view key) {
  if (!ValidateObjectKey(key).ok()) return base()->Head(key);
  MaybeSleep();
  FaultKind kind = Decide(StoreOp::kHead, key, PutMode::kOverwrite);
  if (kind == FaultKind::kError) return Injected(StoreOp::kHead, key, kind);
  Result<ObjectInfo> r = base()->Head(key);
  if (kind == FaultKind::kLostResponse) return Injected(StoreOp::kHead, key, kind);
  return r;
}

Result<std::string> FaultInjectingStore::Put(std::string_view key, std::string_view data,
                                             const PutOptions& options) {
  if (!ValidateObjectKey(key).ok()) return base()->Put(key, data, options);
  MaybeSleep();
  FaultKind kind = Decide(StoreOp::kPut, key, options.mode);
  switch (kind) {
    case FaultKind::kNone:
      return base()->Put(key, data, options);
    case FaultKind::kError:
      return Injected(StoreOp::kPut, key, kind);
    case FaultKind::kLostResponse: {
      Result<std::string> r = base()->Put(key, data, options);
      LOG_INFO("fault injection: lost response of put '{}' was {}", key,
               r.ok() ? "OK" : r.status().ToString());
      return Injected(StoreOp::kPut, key, kind);
    }
    case FaultKind::kDefer:
      Defer(StoreOp::kPut, key, data, options);
      return Injected(StoreOp::kPut, key, kind);
  }
  return Injected(StoreOp::kPut, key, FaultKind::kError);
}

Status FaultInjectingStore::Delete(std::string_view key) {
  if (!ValidateObjectKey(key).ok()) return base()->Delete(key);
  MaybeSleep();
  FaultKind kind = Decide(StoreOp::kDelete, key, PutMode::kOverwrite);
  switch (kind) {
    case FaultKind::kNone:
      return base()->Delete(key);
    case FaultKind::kError:
      return Injected(StoreOp::kDelete, key, kind);
    case FaultKind::kLostResponse: {
      Status s = base()->Delete(key);
      return Injected(StoreOp::kDelete, key, kind);
    }
    case FaultKind::kDefer:
      Defer(StoreOp::kDelete, key, {}, PutOptions());
      return Injected(StoreOp::kDelete, key, kind);
  }
  return Injected(StoreOp::kDelete, key, FaultKind::kError);
}

Status FaultInjectingStore::DeleteMany(std::span<const std::string> keys) {
  for (const std::string& key : keys) RETURN_IF_ERROR(ValidateObjectKey(key));
  for (const std::string& key : keys) RETURN_IF_ERROR(Delete(key));
  return Status::OK();
}

Result<ListResult> FaultInjectingStore::List(std::string_view prefix, std::string_view start_after,
                                             size_t limit) {
  MaybeSleep();
  FaultKind kind = Decide(StoreOp::kList, prefix, PutMode::kOverwrite);
  if (kind == FaultKind::kError) return Injected(StoreOp::kList, prefix, kind);
  Result<ListResult> r = base()->List(prefix, start_after, limit);
  if (kind == FaultKind::kLostResponse) return Injected(StoreOp::kList, prefix, kind);
  return r;
}

std::string FaultInjectingStore::Describe() const {
  return base()->Describe() + " (fault injection)";
}

void FaultInjectingStore::Defer(StoreOp op, std::string_view key, std::string_view data,
                                const PutOptions& options) {
  MutexLock lock(&mu_);
  while (pending_.size() >= options_.max_pending) {
    LOG_INFO("fault injection: pending queue full; {} '{}' will never land",
             StoreOpName(pending_.front().request.op), pending_.front().request.key);
    pending_.pop_front();
    counts_.dropped++;
  }
  PendingRequest request{next_pending_id_++, op, std::string(key), options.mode, data.size()};
  pending_.push_back(Deferred{std::move(request), std::string(data), options});
}

LandedRequest FaultInjectingStore::Land(Deferred deferred) {
  LandedRequest landed{std::move(deferred.request), Status::OK()};
  if (landed.request.op == StoreOp::kPut) {
    Result<std::string> r = base()->Put(landed.request.key, deferred.data, deferred.options);
    if (!r.ok()) landed.status = r.status();
  } else {
    landed.status = base()->Delete(landed.request.key);
  }
  LOG_INFO("fault injection: deferred {} '{}' (#{}) landed: {}", StoreOpName(landed.request.op),
           landed.request.key, landed.request.id, landed.status.ToString());
  MutexLock lock(&mu_);
  counts_.landed++;
  return landed;
}

size_t FaultInjectingStore::PendingCount() const {
  MutexLock lock(&mu_);
  return pending_.size();
}

std::vector<PendingRequest> FaultInjectingStore::Pending() const {
  MutexLock lock(&mu_);
  std::vector<PendingRequest> out;
  out.reserve(pending_.size());
  for (const Deferred& d : pending_) out.push_back(d.request);
  return out;
}

std::vector<LandedRequest> FaultInjectingStore::ApplyPending(size_t n, Random& order) {
  std::vector<Deferred> chosen;
  {
    MutexLock lock(&mu_);
    while (chosen.size() < n && !pending_.empty()) {
      auto it = pending_.begin() + static_cast<ptrdiff_t>(order.Uniform(pending_.size()));
      chosen.push_back(std::move(*it));
      pending_.erase(it);
    }
  }
  std::vector<LandedRequest> out;
  out.reserve(chosen.size());
  for (Deferred& d : chosen) out.push_back(Land(std::move(d)));
  return out;
}

std::optional<LandedRequest> FaultInjectingStore::ApplyPendingById(uint64_t id) {
  std::optional<Deferred> chosen;
  {
    MutexLock lock(&mu_);
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->request.id == id) {
        chosen = std::move(*it);
        pending_.erase(it);
        break;
      }
    }
  }
  if (!chosen) return std::nullopt;
  return Land(std::move(*chosen));
}

void FaultInjectingStore::DropPending() {
  MutexLock lock(&mu_);
  if (!pending_.empty()) {
    LOG_INFO("fault injection: {} pending requests dropped; they will never land", pending_.size());
  }
  counts_.dropped += pending_.size();
  pending_.clear();
}

std::vector<LandedRequest> FaultInjectingStore::Crash(uint64_t seed) {
  Random rng(seed);
  std::vector<Deferred> land_now;
  {
    MutexLock lock(&mu_);
    std::deque<Deferred> keep;
    // Walk the requests in a random order; each lands now, stays pending or is dropped.
    while (!pending_.empty()) {
      auto it = pending_.begin() + static_cast<ptrdiff_t>(rng.Uniform(pending_.size()));
      Deferred d = std::move(*it);
      pending_.erase(it);
      switch (rng.Uniform(3)) {
        case 0:
          land_now.push_back(std::move(d));
          break;
        case 1:
          keep.push_back(std::move(d));
          break;
        default:
          LOG_INFO("fault injection: crash: {} '{}' (#{}) will never land",
                   StoreOpName(d.request.op), d.request.key, d.request.id);
          counts_.dropped++;
          break;
      }
    }
    // Requests that stay pending keep their original (deferral) order.
    std::sort(keep.begin(), keep.end(),
              [](const Deferred& a, const Deferred& b) { return a.request.id < b.request.id; });
    pending_ = std::move(keep);
  }
  std::vector<LandedRequest> out;
  out.reserve(land_now.size());
  for (Deferred& d : land_now) out.push_back(Land(std::move(d)));
  return out;
}

FaultCounts FaultInjectingStore::Counts() const {
  MutexLock lock(&mu_);
  return counts_;
}

}  // namespace cloudkv
