// SPDX-License-Identifier: Apache-2.0
// MemTable entry encoding, one per skiplist node, stored in the arena right behind the node:
//   entry := varint32(internal_key_length) internal_key varint32(value_length) value
//   internal_key := user_key fixed64(sequence << 8 | type)
// The skiplist orders entries by internal key (CompareInternalKeys): user key ascending, then
// sequence and type descending, so the newest version of a user key comes first.
#include "db/memtable.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "util/coding.h"
#include "util/hash.h"

namespace cloudkv {
namespace {

// Decodes a varint32 written by this file (trusted: it lives in our own arena).
inline const char* DecodeLength(const char* p, uint32_t* length) {
  uint32_t first = static_cast<unsigned char>(*p);
  if (first < 128) {
    *length = first;
    return p + 1;
  }
  const char* next = GetVarint32Ptr(p, p + 5, length);
  assert(next != nullptr);
  return next;
}

inline std::string_view EntryInternalKey(const char* entry) {
  uint32_t length;
  const char* p = DecodeLength(entry, &length);
  return std::string_view(p, length);
}

inline std::string_view EntryValue(std::string_view internal_key) {
  uint32_t length;
  const char* p = DecodeLength(internal_key.data() + internal_key.size(), &length);
  return std::string_view(p, length);
}

// Encodes `internal_key` as an entry prefix (no value) into *scratch, for seeking.
const char* EncodeSeekEntry(std::string_view internal_key, std::string* scratch) {
  scratch->clear();
  PutVarint32(scratch, static_cast<uint32_t>(internal_key.size()));
  scratch->append(internal_key.data(), internal_key.size());
  return scratch->data();
}

// Fills *result from a point entry's internal key (kTypeValue or kTypeDeletion).
void ResolvePointEntry(std::string_view internal_key, LookupResult* result) {
  const uint64_t trailer = ExtractTrailer(internal_key);
  result->sequence = trailer >> 8;
  switch (static_cast<ValueType>(trailer & 0xff)) {
    case kTypeValue: {
      std::string_view value = EntryValue(internal_key);
      result->state = LookupState::kFound;
      result->value.assign(value.data(), value.size());
      return;
    }
    case kTypeDeletion:
      result->state = LookupState::kDeleted;
      return;
    case kTypeRangeDeletion:
      break;
  }
  assert(false && "range tombstones live in range_del_table_");
}

size_t IndexBuckets(size_t requested) {
  return std::bit_ceil(std::clamp<size_t>(requested, 16, size_t{1} << 30));
}

}  // namespace

int MemTable::EntryComparator::operator()(const char* a, const char* b) const {
  uint32_t a_length, b_length;
  const char* a_key = DecodeLength(a, &a_length);
  const char* b_key = DecodeLength(b, &b_length);
  assert(a_length >= 8 && b_length >= 8);
  const size_t a_user = a_length - 8, b_user = b_length - 8;
  const size_t common = a_user < b_user ? a_user : b_user;
  int r = std::memcmp(a_key, b_key, common);
  if (r != 0) return r;
  if (a_user != b_user) return a_user < b_user ? -1 : 1;
  const uint64_t a_trailer = DecodeFixed64(a_key + a_user);
  const uint64_t b_trailer = DecodeFixed64(b_key + b_user);
  if (a_trailer > b_trailer) return -1;
  if (a_trailer < b_trailer) return 1;
  return 0;
}

MemTable::MemTable(size_t arena_block_bytes, size_t index_buckets)
    : arena_(arena_block_bytes),
      index_mask_(IndexBuckets(index_buckets) - 1),
      index_bytes_((index_mask_ + 1) * sizeof(std::atomic<const IndexNode*>)),
      index_(new std::atomic<const IndexNode*>[index_mask_ + 1]()),
      table_(EntryComparator(), &arena_),
      range_del_table_(EntryComparator(), &arena_) {}

void MemTable::Add(SequenceNumber seq, ValueType type, std::string_view user_key,
                   std::string_view value) {
  assert(seq <= kMaxSequenceNumber);
  assert(user_key.size() <= kMaxKeyBytes && value.size() <= kMaxValueBytes);
  const uint32_t internal_key_length = static_cast<uint32_t>(user_key.size() + 8);
  const uint32_t value_length = static_cast<uint32_t>(value.size());
  const size_t entry_bytes = VarintLength(internal_key_length) + internal_key_length +
                             VarintLength(value_length) + value_length;
  Table& table = type == kTypeRangeDeletion ? range_del_table_ : table_;
  const char* added = nullptr;
  table.InsertWithPayload(entry_bytes, [&](char* entry) -> const char* {
    added = entry;
    char* p = EncodeVarint32(entry, internal_key_length);
    std::memcpy(p, user_key.data(), user_key.size());
    p += user_key.size();
    EncodeFixed64(p, PackSequenceAndType(seq, type));
    p += 8;
    p = EncodeVarint32(p, value_length);
    if (value_length > 0) std::memcpy(p, value.data(), value_length);
    assert(p + value_length == entry + entry_bytes);
    return entry;
  });
  // After the skiplist insert: a reader that finds the entry in the index may fall back to
  // the skiplist (for an older snapshot), and must then find it there too.
  if (type != kTypeRangeDeletion) IndexEntry(user_key, seq, added);

  // Single writer: plain read-modify-write of the atomics is enough; readers see whole values.
  if (seq < smallest_seq_.load(std::memory_order_relaxed)) {
    smallest_seq_.store(seq, std::memory_order_release);
  }
  if (seq > largest_seq_.load(std::memory_order_relaxed)) {
    largest_seq_.store(seq, std::memory_order_release);
  }
  if (type == kTypeRangeDeletion) {
    num_range_deletions_.store(num_range_deletions_.load(std::memory_order_relaxed) + 1,
                               std::memory_order_release);
  }
  num_entries_.store(num_entries_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void MemTable::IndexEntry(std::string_view user_key, SequenceNumber seq, const char* entry) {
  const uint64_t hash = Hash64(user_key);
  const uint32_t tag = static_cast<uint32_t>(hash);
  std::atomic<const IndexNode*>& bucket = index_[(hash >> 32) & index_mask_];
  // Single writer: relaxed loads of what only this thread stores.
  for (const IndexNode* n = bucket.load(std::memory_order_relaxed); n != nullptr;
       n = n->next.load(std::memory_order_relaxed)) {
    if (n->hash != tag) continue;
    std::string_view newest = EntryInternalKey(n->entry.load(std::memory_order_relaxed));
    if (ExtractUserKey(newest) != user_key) continue;
    if (seq > ExtractTrailer(newest) >> 8) {
      const_cast<IndexNode*>(n)->entry.store(entry, std::memory_order_release);
    }
    return;
  }
  auto* node = new (arena_.AllocateAligned(sizeof(IndexNode))) IndexNode;
  node->hash = tag;
  node->entry.store(entry, std::memory_order_relaxed);
  node->next.store(bucket.load(std::memory_order_relaxed), std::memory_order_relaxed);
  bucket.store(node, std::memory_order_release);  // publishes the node and its entry
}

const char* MemTable::FindNewest(std::string_view user_key) const {
  const uint64_t hash = Hash64(user_key);
  const uint32_t tag = static_cast<uint32_t>(hash);
  for (const IndexNode* n = index_[(hash >> 32) & index_mask_].load(std::memory_order_acquire);
       n != nullptr; n = n->next.load(std::memory_order_acquire)) {
    if (n->hash != tag) continue;
    const char* entry = n->entry.load(std::memory_order_acquire);
    if (ExtractUserKey(EntryInternalKey(entry)) == user_key) return entry;
  }
  return nullptr;
}

void MemTable::Get(std::string_view user_key, SequenceNumber snapshot, LookupResult* result) const {
  assert(snapshot <= kMaxSequenceNumber);
  result->state = LookupState::kNotPresent;
  const char* newest = FindNewest(user_key);
  if (newest == nullptr) return;  // no point entry of user_key, at any sequence
  std::string_view internal_key = EntryInternalKey(newest);
  if (ExtractTrailer(internal_key) >> 8 <= snapshot) {
    ResolvePointEntry(internal_key, result);
    return;
  }
  GetFromSkipList(user_key, snapshot, result);
}

void MemTable::GetFromSkipList(std::string_view user_key, SequenceNumber snapshot,
                               LookupResult* result) const {
  // The lookup entry sorts before every entry of user_key with sequence <= snapshot.
  char stack_buffer[200];
  std::string heap_buffer;
  const char* lookup;
  const size_t internal_key_length = user_key.size() + 8;
  if (internal_key_length + 5 <= sizeof(stack_buffer)) {
    char* p = EncodeVarint32(stack_buffer, static_cast<uint32_t>(internal_key_length));
    std::memcpy(p, user_key.data(), user_key.size());
    EncodeFixed64(p + user_key.size(), PackSequenceAndType(snapshot, kValueTypeForSeek));
    lookup = stack_buffer;
  } else {
    lookup = EncodeSeekEntry(MakeInternalKey(user_key, snapshot, kValueTypeForSeek), &heap_buffer);
  }
  Table::Iterator it(&table_);
  it.Seek(lookup);
  if (!it.Valid()) return;
  std::string_view internal_key = EntryInternalKey(it.key());
  if (ExtractUserKey(internal_key) == user_key) ResolvePointEntry(internal_key, result);
}

// An Iterator over the skiplist's entries. Seeks encode the target as an entry prefix in a
// scratch buffer, because the skiplist compares entries.
class MemTable::MemTableIterator final : public Iterator {
 public:
  MemTableIterator(const Table* table, std::shared_ptr<const MemTable> pin)
      : iter_(table), pin_(std::move(pin)) {}

  bool Valid() const override { return iter_.Valid(); }
  void SeekToFirst() override { iter_.SeekToFirst(); }
  void SeekToLast() override { iter_.SeekToLast(); }
  void Seek(std::string_view target) override {
    assert(target.size() >= 8);
    iter_.Seek(EncodeSeekEntry(target, &scratch_));
  }
  void SeekForPrev(std::string_view target) override {
    assert(target.size() >= 8);
    iter_.SeekForPrev(EncodeSeekEntry(target, &scratch_));
  }
  void Next() override { iter_.Next(); }
  void Prev() override { iter_.Prev(); }
  std::string_view key() const override { return EntryInternalKey(iter_.key()); }
  std::string_view value() const override { return EntryValue(EntryInternalKey(iter_.key())); }
  Status status() const override { return Status::OK(); }

 private:
  Table::Iterator iter_;
  std::string scratch_;
  std::shared_ptr<const MemTable> pin_;  // may be null (see the header's ownership note)
};

std::unique_ptr<Iterator> MemTable::NewIterator() const {
  return std::make_unique<MemTableIterator>(&table_, weak_from_this().lock());
}

std::unique_ptr<Iterator> MemTable::NewRangeTombstoneIterator() const {
  return std::make_unique<MemTableIterator>(&range_del_table_, weak_from_this().lock());
}

RangeTombstoneListPtr MemTable::GetRangeTombstones() const {
  const uint64_t count = NumRangeDeletions();
  if (count == 0) return nullptr;
  std::lock_guard<std::mutex> lock(range_del_cache_mu_);
  if (range_del_cache_ != nullptr && range_del_cache_count_ == count) return range_del_cache_;
  // The skiplist may show tombstones added after `count` was read: the list is then labelled
  // older than it is, and merely rebuilt once more.
  std::vector<RangeTombstone> tombstones;
  tombstones.reserve(count);
  Table::Iterator it(&range_del_table_);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    std::string_view internal_key = EntryInternalKey(it.key());
    std::string_view end = EntryValue(internal_key);
    tombstones.push_back(RangeTombstone{std::string(ExtractUserKey(internal_key)), std::string(end),
                                        ExtractTrailer(internal_key) >> 8});
  }
  range_del_cache_ = std::make_shared<const FragmentedRangeTombstoneList>(tombstones);
  range_del_cache_count_ = count;
  return range_del_cache_;
}

namespace {

class MemTableInserter final : public WriteBatch::Handler {
 public:
  MemTableInserter(SequenceNumber first_seq, MemTable* memtable)
      : seq_(first_seq), memtable_(memtable) {}

  Status Put(std::string_view key, std::string_view value) override {
    memtable_->Add(seq_++, kTypeValue, key, value);
    return Status::OK();
  }
  Status Delete(std::string_view key) override {
    memtable_->Add(seq_++, kTypeDeletion, key, std::string_view());
    return Status::OK();
  }
  Status DeleteRange(std::string_view begin, std::string_view end) override {
    memtable_->Add(seq_++, kTypeRangeDeletion, begin, end);
    return Status::OK();
  }

 private:
  SequenceNumber seq_;
  MemTable* const memtable_;
};

}  // namespace

Status InsertBatchIntoMemTable(const WriteBatch& batch, SequenceNumber first_seq,
                               MemTable* memtable) {
  assert(batch.Count() == 0 || first_seq + batch.Count() - 1 <= kMaxSequenceNumber);
  MemTableInserter inserter(first_seq, memtable);
  return batch.Iterate(&inserter);
}

}  // namespace cloudkv
