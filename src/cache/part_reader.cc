// SPDX-License-Identifier: Apache-2.0
// Single-flight, part-aligned reads (cache/part_reader.h).
//
// A read through the disk cache runs in four steps, none holding the table's mutex across I/O:
//   1. look each part's slice up in the disk cache;
//   2. under the mutex, join the flight of every part still missing, or open one (claim it);
//   3. for each claimed part, look the whole part up again (a fetch that landed between steps
//      1 and 2 wrote it to the cache before leaving the table), then fetch runs of adjacent
//      claimed parts with one GET each, write them to the cache and finish their flights;
//   4. wait for the flights joined in step 2.
// A thread finishes every flight it opened before it waits for another's, so waits cannot form
// a cycle.
#include "cache/part_reader.h"

#include <algorithm>
#include <cassert>
#include <vector>

namespace cloudkv {

// One fetch in flight: the bytes of its range, or the error, once done.
class PartReader::Flight {
 public:
  void Finish(Status status, std::shared_ptr<const std::string> bytes) {
    MutexLock lock(&mu_);
    assert(!done_);
    done_ = true;
    status_ = std::move(status);
    bytes_ = std::move(bytes);
    cv_.SignalAll();
  }
  Result<std::shared_ptr<const std::string>> Wait() {
    MutexLock lock(&mu_);
    while (!done_) cv_.Wait(&mu_);
    if (!status_.ok()) return status_;
    return bytes_;
  }

 private:
  Mutex mu_;
  CondVar cv_{&mu_};
  bool done_ GUARDED_BY(mu_) = false;
  Status status_ GUARDED_BY(mu_);
  std::shared_ptr<const std::string> bytes_ GUARDED_BY(mu_);
};

PartReader::PartReader(std::shared_ptr<ObjectStore> store, std::string object_key,
                       uint64_t object_size, std::shared_ptr<DiskCache> disk_cache,
                       std::string store_id)
    : store_(std::move(store)),
      object_key_(std::move(object_key)),
      object_size_(object_size),
      disk_cache_(std::move(disk_cache)),
      store_id_(store_id.empty() ? store_->Describe() : std::move(store_id)) {
  assert(store_ != nullptr);
}

PartReader::~PartReader() = default;

Result<std::string> PartReader::Fetch(uint64_t begin, uint64_t end) {
  assert(begin < end && end <= object_size_);
  object_reads_.fetch_add(1, std::memory_order_relaxed);
  auto got = store_->Get(object_key_, ByteRange{begin, end - begin});
  if (!got.ok()) return got.status();
  if (got->object_size != object_size_) {
    return Status::Corruption("object '" + object_key_ + "' at offset " + std::to_string(begin) +
                              ": object has " + std::to_string(got->object_size) +
                              " bytes, expected " + std::to_string(object_size_));
  }
  if (got->data.size() != end - begin) {
    return Status::Corruption("object '" + object_key_ + "' at offset " + std::to_string(begin) +
                              ": short read (" + std::to_string(got->data.size()) + " of " +
                              std::to_string(end - begin) + " bytes)");
  }
  bytes_read_.fetch_add(got->data.size(), std::memory_order_relaxed);
  return std::move(got->data);
}

Result<std::string> PartReader::ReadRange(uint64_t begin, uint64_t end) {
  assert(begin < end && end <= object_size_);
  if (begin >= end || end > object_size_) {
    return Status::InvalidArgument("range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                   ") of object '" + object_key_ + "' of " +
                                   std::to_string(object_size_) + " bytes");
  }
  if (disk_cache_ != nullptr && disk_cache_->enabled()) return ReadParts(begin, end);
  return ReadExact(begin, end);
}

void PartReader::Land(const Range& range) {
  MutexLock lock(&mu_);
  flights_.erase(range);
}

Result<std::string> PartReader::ReadExact(uint64_t begin, uint64_t end) {
  const Range range{begin, end};
  std::shared_ptr<Flight> flight;
  bool owner = false;
  {
    MutexLock lock(&mu_);
    auto [it, inserted] = flights_.try_emplace(range, nullptr);
    if (inserted) it->second = std::make_shared<Flight>();
    flight = it->second;
    owner = inserted;
  }
  if (!owner) {
    auto bytes = flight->Wait();
    if (!bytes.ok()) return bytes.status();
    return std::string(**bytes);
  }
  auto got = Fetch(begin, end);
  if (!got.ok()) {
    flight->Finish(got.status(), nullptr);
    Land(range);
    return got.status();
  }
  auto bytes = std::make_shared<const std::string>(std::move(got).value());
  flight->Finish(Status::OK(), bytes);
  Land(range);
  return std::string(*bytes);
}

Status PartReader::FetchRun(uint64_t first, uint64_t last,
                            const std::map<uint64_t, std::shared_ptr<Flight>>& owned) {
  const uint64_t part_bytes = disk_cache_->part_bytes();
  const uint64_t begin = first * part_bytes;
  const uint64_t end = std::min(object_size_, (last + 1) * part_bytes);
  auto got = Fetch(begin, end);
  for (uint64_t p = first; p <= last; p++) {
    const Range range{p * part_bytes, std::min(object_size_, (p + 1) * part_bytes)};
    if (!got.ok()) {
      owned.at(p)->Finish(got.status(), nullptr);
    } else {
      auto bytes = std::make_shared<const std::string>(
          got->substr(range.first - begin, range.second - range.first));
      // Into the cache before the flight leaves the table: a reader that finds neither misses
      // nothing that landed.
      disk_cache_->InsertPart(store_id_, object_key_, object_size_, p, *bytes);
      owned.at(p)->Finish(Status::OK(), std::move(bytes));
    }
    Land(range);
  }
  return got.ok() ? Status::OK() : got.status();
}

Result<std::string> PartReader::ReadParts(uint64_t begin, uint64_t end) {
  const uint64_t part_bytes = disk_cache_->part_bytes();
  const uint64_t first = begin / part_bytes;
  const uint64_t last = (end - 1) / part_bytes;
  auto part_range = [&](uint64_t p) {
    return Range{p * part_bytes, std::min(object_size_, (p + 1) * part_bytes)};
  };
  // The slice of part p this request needs, as offsets into the part.
  auto slice = [&](uint64_t p) {
    const Range r = part_range(p);
    return Range{std::max(begin, r.first) - r.first, std::min(end, r.second) - r.first};
  };
  std::vector<std::string> pieces(last - first + 1);
  std::vector<uint64_t> missing;
  // 1. The disk cache.
  for (uint64_t p = first; p <= last; p++) {
    const Range s = slice(p);
    auto hit =
        disk_cache_->Lookup(store_id_, object_key_, object_size_, p, s.first, s.second - s.first);
    if (hit.has_value()) {
      pieces[p - first] = std::move(*hit);
    } else {
      missing.push_back(p);
    }
  }
  // 2. Join or claim the flights of the missing parts.
  std::map<uint64_t, std::shared_ptr<Flight>> owned, joined;
  if (!missing.empty()) {
    MutexLock lock(&mu_);
    for (uint64_t p : missing) {
      auto [it, inserted] = flights_.try_emplace(part_range(p), nullptr);
      if (inserted) {
        it->second = std::make_shared<Flight>();
        owned[p] = it->second;
      } else {
        joined[p] = it->second;
      }
    }
  }
  // 3. Claimed parts: the cache once more (whole parts, for the flight's waiters), then fetch
  // runs of adjacent parts.
  std::vector<uint64_t> to_fetch;
  for (auto& [p, flight] : owned) {
    const Range r = part_range(p);
    auto hit = disk_cache_->Lookup(store_id_, object_key_, object_size_, p, 0, r.second - r.first);
    if (!hit.has_value()) {
      to_fetch.push_back(p);
      continue;
    }
    const Range s = slice(p);
    pieces[p - first] = hit->substr(s.first, s.second - s.first);
    flight->Finish(Status::OK(), std::make_shared<const std::string>(std::move(*hit)));
    Land(r);
  }
  Status status;
  for (size_t i = 0; i < to_fetch.size();) {
    size_t j = i;
    while (j + 1 < to_fetch.size() && to_fetch[j + 1] == to_fetch[j] + 1) j++;
    Status s = FetchRun(to_fetch[i], to_fetch[j], owned);
    if (status.ok()) status = s;
    i = j + 1;
  }
  // The fetched parts' slices come from their flights, like those of the joined ones.
  for (uint64_t p : to_fetch) joined[p] = owned[p];
  if (!status.ok()) return status;
  // 4. Wait for the others' fetches.
  for (auto& [p, flight] : joined) {
    auto bytes = flight->Wait();
    if (!bytes.ok()) return bytes.status();
    const Range s = slice(p);
    if ((*bytes)->size() < s.second) {
      return Status::Corruption("object '" + object_key_ + "': part " + std::to_string(p) +
                                " is short");
    }
    pieces[p - first] = (*bytes)->substr(s.first, s.second - s.first);
  }
  std::string out;
  out.reserve(end - begin);
  for (const std::string& piece : pieces) out.append(piece);
  assert(out.size() == end - begin);
  return out;
}

}  // namespace cloudkv
