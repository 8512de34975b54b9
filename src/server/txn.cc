// SPDX-License-Identifier: Apache-2.0
// Txn (see txn.h): reads through the overlay of the transaction's own writes, which is built
// lazily from its WriteBatch.
#include "server/txn.h"

#include <cassert>
#include <iterator>

#include "server/watch_registry.h"

namespace cloudkv::server {

Txn::Txn(DB* db, bool read_unflushed, uint64_t now_ms, bool one_read)
    : db_(db), read_unflushed_(read_unflushed), one_read_(one_read), now_ms_(now_ms) {}

Txn::~Txn() {
  if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
}

void Txn::Reset(uint64_t now_ms) {
  if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
  snapshot_ = nullptr;
  snapshot_taken_ = false;
  reads_ = 0;
  now_ms_ = now_ms;
  overlay_.clear();
  deleted_ranges_.clear();
  batch_.Clear();
  materialized_count_ = 0;
  materialized_bytes_ = 0;
  touched_all_ = false;
  records_read_ = 0;
}

ReadOptions Txn::MakeReadOptions() {
  ReadOptions options;
  reads_++;
  // A command flagged kCmdOneRead that reads twice is a bug in its handler; the snapshot
  // below still keeps its later reads consistent with each other.
  assert(!one_read_ || reads_ == 1);
  if (read_unflushed_) {
    options.read_unflushed = true;
  } else if (one_read_ && reads_ == 1) {
    // The latest durable state, as a snapshot taken now would give.
  } else {
    // Several reads of one command see one durable state.
    if (!snapshot_taken_) {
      snapshot_ = db_->GetSnapshot();
      snapshot_taken_ = true;
    }
    options.snapshot = snapshot_;
  }
  return options;
}

void Txn::Materialize() {
  if (materialized_count_ == batch_.Count()) return;
  // The records added since the last call, applied to the overlay in batch order.
  WriteBatch tail;
  Status s =
      tail.SetData(batch_.Data().substr(materialized_bytes_), batch_.Count() - materialized_count_);
  assert(s.ok());
  struct Apply final : WriteBatch::Handler {
    Txn* txn;
    Status Put(std::string_view key, std::string_view value) override {
      auto it = txn->overlay_.find(key);
      if (it == txn->overlay_.end()) {
        txn->overlay_.emplace(std::string(key), std::string(value));
      } else {
        it->second.emplace(value);
      }
      return Status::OK();
    }
    Status Delete(std::string_view key) override {
      auto it = txn->overlay_.find(key);
      if (it == txn->overlay_.end()) {
        txn->overlay_.emplace(std::string(key), std::nullopt);
      } else {
        it->second.reset();
      }
      return Status::OK();
    }
    Status DeleteRange(std::string_view begin, std::string_view end) override {
      // Earlier writes of this transaction in the range are deleted too (batch order).
      txn->overlay_.erase(txn->overlay_.lower_bound(begin), txn->overlay_.lower_bound(end));
      txn->AddDeletedRange(begin, end);
      return Status::OK();
    }
  } apply;
  apply.txn = this;
  s = tail.Iterate(&apply);
  assert(s.ok());
  (void)s;
  materialized_count_ = batch_.Count();
  materialized_bytes_ = batch_.ByteSize();
}

void Txn::TouchWatches(WatchRegistry* watches) const {
  if (touched_all_) return watches->TouchAll();
  if (watches->empty()) return;
  // Every write to a user key writes (or deletes) its metadata record.
  struct Collect final : WriteBatch::Handler {
    std::vector<std::string> keys;
    Status Put(std::string_view key, std::string_view) override { return Delete(key); }
    Status Delete(std::string_view key) override {
      if (!key.empty() && key[0] == kMetaPrefix) keys.emplace_back(key.substr(1));
      return Status::OK();
    }
    Status DeleteRange(std::string_view, std::string_view) override { return Status::OK(); }
  } collect;
  Status s = batch_.Iterate(&collect);
  assert(s.ok());
  (void)s;
  watches->Touch(collect.keys);
}

Result<std::optional<std::string>> Txn::GetRaw(std::string_view internal_key) {
  records_read_++;
  Materialize();
  auto it = overlay_.find(internal_key);
  if (it != overlay_.end()) return it->second;
  if (InDeletedRange(internal_key)) return std::optional<std::string>();
  Result<std::string> got = db_->Get(MakeReadOptions(), internal_key);
  if (got.ok()) return std::optional<std::string>(std::move(got).value());
  if (got.status().IsNotFound()) return std::optional<std::string>();
  return got.status();
}

namespace {

// The internal key of a metadata record, built in a per-thread buffer (no allocation per
// lookup). Valid until the next call on this thread.
std::string_view ScratchMetaKey(std::string_view user_key) {
  thread_local std::string key;
  key.assign(1, kMetaPrefix);
  key.append(user_key);
  return key;
}

}  // namespace

Result<std::optional<Metadata>> Txn::GetMeta(std::string_view user_key) {
  Result<std::optional<std::string>> raw = GetRaw(ScratchMetaKey(user_key));
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<Metadata>();
  Result<Metadata> meta = DecodeOwnedMetadata(user_key, std::move(**raw));
  if (!meta.ok()) return meta.status();
  if (meta->ExpiredAt(now_ms_)) return std::optional<Metadata>();
  return std::optional<Metadata>(std::move(meta).value());
}

void Txn::PutRaw(const std::string& internal_key, std::string_view value) {
  batch_.Put(internal_key, value);
}

void Txn::DeleteRaw(const std::string& internal_key) { batch_.Delete(internal_key); }

void Txn::PutMeta(std::string_view user_key, const Metadata& meta) {
  batch_.Put(ScratchMetaKey(user_key), EncodeMetadata(meta));
}

void Txn::PutString(std::string_view user_key, std::string_view value, uint64_t expire_at_ms) {
  thread_local std::string encoded;
  encoded.clear();
  AppendStringMetadata(&encoded, value, expire_at_ms);
  batch_.Put(ScratchMetaKey(user_key), encoded);
}

void Txn::DeleteMeta(std::string_view user_key) { batch_.Delete(ScratchMetaKey(user_key)); }

void Txn::DeleteKey(std::string_view user_key, const Metadata& meta) {
  DeleteMeta(user_key);
  if (IsCollection(meta.type)) {
    // Unreachable already (versions are never reused); deleted so compaction reclaims them.
    DeleteRangeRaw(FieldPrefix(meta.version), FieldPrefix(meta.version + 1));
  }
}

void Txn::DeleteRangeRaw(const std::string& begin, const std::string& end) {
  assert(begin <= end);
  batch_.DeleteRange(begin, end);
}

bool Txn::InDeletedRange(std::string_view internal_key) const {
  // The last range that begins at or before the key is the only one that can hold it.
  auto it = deleted_ranges_.upper_bound(internal_key);
  if (it == deleted_ranges_.begin()) return false;
  --it;
  assert(it->first <= internal_key);
  return internal_key < it->second;
}

void Txn::AddDeletedRange(std::string_view begin, std::string_view end) {
  if (begin >= end) return;  // empty
  std::string merged_begin(begin), merged_end(end);
  auto it = deleted_ranges_.upper_bound(begin);
  if (it != deleted_ranges_.begin() && std::prev(it)->second >= begin) --it;
  while (it != deleted_ranges_.end() && it->first <= merged_end) {
    if (it->first < merged_begin) merged_begin = it->first;
    if (it->second > merged_end) merged_end = it->second;
    it = deleted_ranges_.erase(it);
  }
  deleted_ranges_.emplace(std::move(merged_begin), std::move(merged_end));
}

void Txn::DeleteAll() {
  // Every record's key starts with kMetaPrefix or kFieldPrefix, both below 0xff.
  static_assert(kMetaPrefix < '\x7f' && kFieldPrefix < '\x7f');
  DeleteRangeRaw(std::string(), std::string(1, '\xff'));
  touched_all_ = true;
}

Status Txn::Scan(const std::string& lower, const std::string& upper,
                 const std::optional<std::string>& start_after,
                 const std::function<bool(std::string_view, std::string_view)>& visit) {
  if (start_after && *start_after >= upper) return Status::OK();
  Materialize();
  ReadOptions options = MakeReadOptions();
  options.lower_bound = lower;
  options.upper_bound = upper;
  std::unique_ptr<Iterator> iter = db_->NewIterator(options);
  if (start_after) {
    iter->Seek(*start_after);
    if (iter->Valid() && iter->key() == *start_after) iter->Next();
  } else {
    iter->SeekToFirst();
  }
  auto ov = start_after ? overlay_.upper_bound(*start_after) : overlay_.lower_bound(lower);
  if (ov != overlay_.end() && ov->first < lower) ov = overlay_.lower_bound(lower);
  auto ov_end = overlay_.lower_bound(upper);
  while (true) {
    bool db_valid = iter->Valid();
    bool ov_valid = ov != ov_end;
    if (!db_valid && !ov_valid) break;
    if (ov_valid && (!db_valid || ov->first <= iter->key())) {
      if (db_valid && ov->first == iter->key()) iter->Next();
      const auto& entry = *ov;
      ++ov;
      records_read_++;
      if (entry.second.has_value() && !visit(entry.first, *entry.second)) return Status::OK();
    } else {
      records_read_++;
      if (!InDeletedRange(iter->key()) && !visit(iter->key(), iter->value())) return Status::OK();
      iter->Next();
    }
  }
  return iter->status();
}

Status Txn::ScanReverse(const std::string& lower, const std::string& upper,
                        const std::function<bool(std::string_view, std::string_view)>& visit) {
  Materialize();
  ReadOptions options = MakeReadOptions();
  options.lower_bound = lower;
  options.upper_bound = upper;
  std::unique_ptr<Iterator> iter = db_->NewIterator(options);
  iter->SeekToLast();
  const auto ov_begin = overlay_.lower_bound(lower);
  auto ov = overlay_.lower_bound(upper);  // one past the next overlay entry to visit
  while (true) {
    const bool db_valid = iter->Valid();
    if (ov != ov_begin) {
      auto prev = std::prev(ov);
      if (!db_valid || prev->first >= iter->key()) {
        if (db_valid && prev->first == iter->key()) iter->Prev();
        ov = prev;
        records_read_++;
        if (prev->second.has_value() && !visit(prev->first, *prev->second)) return Status::OK();
        continue;
      }
    }
    if (!db_valid) break;
    records_read_++;
    if (!InDeletedRange(iter->key()) && !visit(iter->key(), iter->value())) return Status::OK();
    iter->Prev();
  }
  return iter->status();
}

}  // namespace cloudkv::server
