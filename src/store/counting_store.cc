// SPDX-License-Identifier: Apache-2.0
#include "store/counting_store.h"

#include <cassert>

namespace cloudkv {

std::string_view StoreOpName(StoreOp op) {
  switch (op) {
    case StoreOp::kGet:
      return "get";
    case StoreOp::kHead:
      return "head";
    case StoreOp::kPut:
      return "put";
    case StoreOp::kDelete:
      return "delete";
    case StoreOp::kList:
      return "list";
  }
  return "?";
}

uint64_t StoreCounters::TotalRequests() const {
  uint64_t total = 0;
  for (uint64_t n : requests) total += n;
  return total;
}

double StoreCounters::EstimatedCostDollars(const RequestPrices& prices) const {
  double put_list = static_cast<double>(Requests(StoreOp::kPut) + Requests(StoreOp::kList));
  double get_head = static_cast<double>(Requests(StoreOp::kGet) + Requests(StoreOp::kHead));
  double del = static_cast<double>(Requests(StoreOp::kDelete));
  return (put_list * prices.put_list_per_1000 + get_head * prices.get_head_per_1000 +
          del * prices.delete_per_1000) /
         1000;
}

StoreCounters StoreCounters::operator-(const StoreCounters& earlier) const {
  StoreCounters out;
  for (size_t i = 0; i < kNumStoreOps; i++) {
    assert(requests[i] >= earlier.requests[i] && errors[i] >= earlier.errors[i]);
    out.requests[i] = requests[i] - earlier.requests[i];
    out.errors[i] = errors[i] - earlier.errors[i];
  }
  assert(get_bytes >= earlier.get_bytes && put_bytes >= earlier.put_bytes);
  out.get_bytes = get_bytes - earlier.get_bytes;
  out.put_bytes = put_bytes - earlier.put_bytes;
  return out;
}

void CountingStore::Count(StoreOp op, uint64_t requests, bool failed) {
  requests_[static_cast<size_t>(op)].fetch_add(requests, std::memory_order_relaxed);
  if (failed) errors_[static_cast<size_t>(op)].fetch_add(1, std::memory_order_relaxed);
}

Result<GetResult> CountingStore::Get(std::string_view key, std::optional<ByteRange> range) {
  Result<GetResult> r = base()->Get(key, range);
  Count(StoreOp::kGet, 1, !r.ok());
  if (r.ok()) get_bytes_.fetch_add(r->data.size(), std::memory_order_relaxed);
  return r;
}

Result<ObjectInfo> CountingStore::Head(std::string_view key) {
  Result<ObjectInfo> r = base()->Head(key);
  Count(StoreOp::kHead, 1, !r.ok());
  return r;
}

Result<std::string> CountingStore::Put(std::string_view key, std::string_view data,
                                       const PutOptions& options) {
  Result<std::string> r = base()->Put(key, data, options);
  Count(StoreOp::kPut, 1, !r.ok());
  put_bytes_.fetch_add(data.size(), std::memory_order_relaxed);
  return r;
}

Status CountingStore::Delete(std::string_view key) {
  Status s = base()->Delete(key);
  Count(StoreOp::kDelete, 1, !s.ok());
  return s;
}

Status CountingStore::DeleteMany(std::span<const std::string> keys) {
  Status s = base()->DeleteMany(keys);
  Count(StoreOp::kDelete, (keys.size() + 999) / 1000, !s.ok());
  return s;
}

Result<ListResult> CountingStore::List(std::string_view prefix, std::string_view start_after,
                                       size_t limit) {
  Result<ListResult> r = base()->List(prefix, start_after, limit);
  Count(StoreOp::kList, 1, !r.ok());
  return r;
}

StoreCounters CountingStore::Snapshot() const {
  StoreCounters out;
  for (size_t i = 0; i < kNumStoreOps; i++) {
    out.requests[i] = requests_[i].load(std::memory_order_relaxed);
    out.errors[i] = errors_[i].load(std::memory_order_relaxed);
  }
  out.get_bytes = get_bytes_.load(std::memory_order_relaxed);
  out.put_bytes = put_bytes_.load(std::memory_order_relaxed);
  return out;
}

void CountingStore::Reset() {
  for (size_t i = 0; i < kNumStoreOps; i++) {
    requests_[i].store(0, std::memory_order_relaxed);
    errors_[i].store(0, std::memory_order_relaxed);
  }
  get_bytes_.store(0, std::memory_order_relaxed);
  put_bytes_.store(0, std::memory_order_relaxed);
}

}  // namespace cloudkv
