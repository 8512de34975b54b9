// Key encoding (see keyspace.h and docs/server.md) and the command transaction context.
//   metadata value := type(1) expire_at_ms(fixed64 LE) payload
//   string payload := value bytes;  hash payload := version(fixed64 LE) count(fixed64 LE)
#include "server/keyspace.h"

#include <algorithm>
#include <cassert>
#include <chrono>

namespace cloudkv::server {
namespace {

void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; i++) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(buf, sizeof(buf));
}

uint64_t GetFixed64(std::string_view in) {
  assert(in.size() >= 8);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; i--) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

constexpr size_t kMetaHeaderBytes = 1 + 8;

// The metadata record of a string: type, expiry, value.
void AppendStringMetadata(std::string* out, std::string_view value, uint64_t expire_at_ms) {
  out->push_back(static_cast<char>(ValueType::kString));
  PutFixed64(out, expire_at_ms);
  out->append(value);
}

}  // namespace

std::string MetaKey(std::string_view user_key) {
  std::string key;
  key.reserve(user_key.size() + 1);
  key.push_back(kMetaPrefix);
  key.append(user_key);
  return key;
}

std::string FieldPrefix(uint64_t version) {
  std::string key(1, kFieldPrefix);
  PutBigEndian64(&key, version);
  return key;
}

std::string FieldKey(uint64_t version, std::string_view field) {
  std::string key = FieldPrefix(version);
  key.append(field);
  return key;
}

std::string EncodeMetadata(const Metadata& meta) {
  std::string out;
  out.reserve(kMetaHeaderBytes + meta.value.size() + 16);
  if (meta.type == ValueType::kString) {
    AppendStringMetadata(&out, meta.value, meta.expire_at_ms);
  } else {
    out.push_back(static_cast<char>(meta.type));
    PutFixed64(&out, meta.expire_at_ms);
    PutFixed64(&out, meta.version);
    PutFixed64(&out, meta.count);
  }
  return out;
}

Result<Metadata> DecodeMetadata(std::string_view user_key, std::string_view bytes) {
  auto corrupt = [&](const char* what) {
    return Status::Corruption("metadata record of key '" + std::string(user_key.substr(0, 200)) +
                              "': " + what);
  };
  if (bytes.size() < kMetaHeaderBytes) return corrupt("too short");
  Metadata meta;
  uint8_t type = static_cast<uint8_t>(bytes[0]);
  meta.expire_at_ms = GetFixed64(bytes.substr(1));
  std::string_view payload = bytes.substr(kMetaHeaderBytes);
  if (type == static_cast<uint8_t>(ValueType::kString)) {
    meta.type = ValueType::kString;
    meta.value.assign(payload);
  } else if (type == static_cast<uint8_t>(ValueType::kHash)) {
    if (payload.size() != 16) return corrupt("bad hash payload size");
    meta.type = ValueType::kHash;
    meta.version = GetFixed64(payload);
    meta.count = GetFixed64(payload.substr(8));
  } else {
    return corrupt("unknown type");
  }
  return meta;
}

Result<Metadata> DecodeOwnedMetadata(std::string_view user_key, std::string&& bytes) {
  if (bytes.size() < kMetaHeaderBytes || bytes[0] != static_cast<char>(ValueType::kString)) {
    return DecodeMetadata(user_key, std::string_view(bytes));
  }
  Metadata meta;
  meta.type = ValueType::kString;
  meta.expire_at_ms = GetFixed64(std::string_view(bytes).substr(1));
  // Moving the header out is a short memmove; a copy of the value would allocate.
  bytes.erase(0, kMetaHeaderBytes);
  meta.value = std::move(bytes);
  return meta;
}

namespace {

class ExpiryCompactionFilter final : public CompactionFilter {
 public:
  Decision Filter(std::string_view user_key, std::string_view value,
                  uint64_t now_micros) const override {
    if (user_key.empty() || user_key[0] != kMetaPrefix) return Decision::kKeep;
    // A record too short to decode is kept: reads report it as Corruption, naming the key.
    if (value.size() < kMetaHeaderBytes) return Decision::kKeep;
    const uint64_t expire_at_ms = GetFixed64(value.substr(1));
    return expire_at_ms != 0 && expire_at_ms <= now_micros / 1000 ? Decision::kRemove
                                                                  : Decision::kKeep;
  }
  const char* Name() const override { return "cloudkv.server.expiry"; }
};

}  // namespace

std::shared_ptr<const CompactionFilter> NewExpiryCompactionFilter() {
  return std::make_shared<ExpiryCompactionFilter>();
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// --- VersionAllocator -----------------------------------------------------------------------

VersionAllocator::VersionAllocator(uint64_t writer_epoch) {
  uint64_t high = writer_epoch;
  if (high == 0) {
    // The engine did not report an epoch: fall back on seconds since 2024 (unique across
    // restarts as long as the clock does not go back).
    high = (NowMs() / 1000 - 1'700'000'000ull) | (1ull << 23);
  }
  next_.store((high & 0xffffff) << 40 | 1);
}

uint64_t VersionAllocator::Next() { return next_.fetch_add(1); }

// --- KeyLocks -------------------------------------------------------------------------------

size_t KeyLocks::StripeOf(std::string_view key) {
  return std::hash<std::string_view>{}(key) % kStripes;
}

void KeyLocks::Set::Lock(const std::vector<std::string_view>& keys, bool all) {
  assert(held_.empty());
  if (all) {
    for (size_t i = 0; i < kStripes; i++) {
      is_held_[i] = true;
      held_.push_back(i);
    }
  }
  for (std::string_view key : keys) {
    size_t i = StripeOf(key);
    if (!is_held_[i]) {
      is_held_[i] = true;
      held_.push_back(i);
    }
  }
  std::sort(held_.begin(), held_.end());
  for (size_t i : held_) locks_->mu_[i].lock();
}

bool KeyLocks::Set::TryAdd(const std::vector<std::string_view>& keys) {
  const size_t before = held_.size();
  for (std::string_view key : keys) {
    size_t i = StripeOf(key);
    if (is_held_[i]) continue;
    if (!locks_->mu_[i].try_lock()) {
      while (held_.size() > before) {
        locks_->mu_[held_.back()].unlock();
        is_held_[held_.back()] = false;
        held_.pop_back();
      }
      return false;
    }
    is_held_[i] = true;
    held_.push_back(i);
  }
  return true;
}

void KeyLocks::Set::Release() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
    locks_->mu_[*it].unlock();
    is_held_[*it] = false;
  }
  held_.clear();
}

// --- WatchRegistry --------------------------------------------------------------------------

uint64_t WatchRegistry::Watch(const std::string& key) {
  std::lock_guard lock(mu_);
  Entry& e = watched_[key];
  e.watchers++;
  entries_.store(watched_.size());
  return e.version + epoch_;
}

void WatchRegistry::Unwatch(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(key);
  if (it == watched_.end()) return;
  if (--it->second.watchers == 0) watched_.erase(it);
  entries_.store(watched_.size());
}

uint64_t WatchRegistry::Version(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(key);
  return (it == watched_.end() ? 0 : it->second.version) + epoch_;
}

void WatchRegistry::Touch(const std::vector<std::string>& keys) {
  if (entries_.load() == 0) return;
  std::lock_guard lock(mu_);
  for (const std::string& key : keys) {
    auto it = watched_.find(key);
    if (it != watched_.end()) it->second.version++;
  }
}

void WatchRegistry::TouchAll() {
  std::lock_guard lock(mu_);
  epoch_++;
}

// --- DurabilityTracker ----------------------------------------------------------------------

void DurabilityTracker::Submit(const WriteBatch& batch, Waiter* waiter) {
  std::lock_guard lock(submit_mu_);
  uint64_t ticket = last_ticket_.load() + 1;
  last_ticket_.store(ticket, std::memory_order_release);
  waiter->ticket_ = ticket;
  // Two pointers: std::function keeps them inline (no allocation per write).
  db_->WriteAsync(batch, [this, waiter](Status status, uint64_t) {
    uint64_t done_ticket = waiter->ticket_;
    waiter->Done(std::move(status));  // may free the waiter
    Complete(done_ticket);
  });
}

void DurabilityTracker::Complete(uint64_t ticket) {
  std::vector<Waiter*> ready;
  {
    std::lock_guard lock(mu_);
    // The engine reports batches in sequence order, which is ticket order: the set is only
    // used when callbacks race each other.
    if (ticket == durable_ + 1) {
      durable_++;
    } else {
      done_early_.insert(ticket);
    }
    while (!done_early_.empty() && *done_early_.begin() == durable_ + 1) {
      durable_++;
      done_early_.erase(done_early_.begin());
    }
    while (!waiters_.empty() && waiters_.begin()->first <= durable_) {
      ready.push_back(waiters_.begin()->second);
      waiters_.erase(waiters_.begin());
    }
    cv_.notify_all();
  }
  for (Waiter* waiter : ready) waiter->Done(Status::OK());
}

void DurabilityTracker::WhenDurable(uint64_t gate, Waiter* waiter) {
  {
    std::lock_guard lock(mu_);
    if (gate > durable_) {
      waiters_.emplace(gate, waiter);
      return;
    }
  }
  waiter->Done(Status::OK());
}

void DurabilityTracker::Drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return durable_ >= last_ticket_.load(); });
}

uint64_t DurabilityTracker::InFlight() const {
  std::lock_guard lock(mu_);
  return last_ticket_.load() - durable_;
}

// --- Txn ------------------------------------------------------------------------------------

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
      txn->deleted_ranges_.emplace_back(begin, end);
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
  if (meta.type == ValueType::kHash) {
    // Unreachable already (versions are never reused); deleted so compaction reclaims them.
    DeleteRangeRaw(FieldPrefix(meta.version), FieldPrefix(meta.version + 1));
  }
}

void Txn::DeleteRangeRaw(const std::string& begin, const std::string& end) {
  assert(begin <= end);
  batch_.DeleteRange(begin, end);
}

bool Txn::InDeletedRange(std::string_view internal_key) const {
  for (const auto& [begin, end] : deleted_ranges_) {
    if (begin <= internal_key && internal_key < end) return true;
  }
  return false;
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
      if (entry.second.has_value() && !visit(entry.first, *entry.second)) return Status::OK();
    } else {
      if (!InDeletedRange(iter->key()) && !visit(iter->key(), iter->value())) return Status::OK();
      iter->Next();
    }
  }
  return iter->status();
}

}  // namespace cloudkv::server
