// SPDX-License-Identifier: Apache-2.0
// Key encoding: how Redis keys, types and expiry map onto cloudkv's flat, ordered key space
// (specified in docs/server.md, "Key encoding"). Shared by `cloudkv serve` (src/server), which
// writes it, and the command line (src/cli: get/scan --redis), which decodes it; on the public
// API only.
//
//
//   metadata record   'M' + user_key                  -> type(1) expire_at_ms(fixed64) payload
//       string payload = the value bytes
//       hash payload   = version(fixed64) field_count(fixed64)
//       set payload    = version(fixed64) member_count(fixed64)
//       zset payload   = version(fixed64) member_count(fixed64)
//       list payload   = version(fixed64) length(fixed64) head(fixed64)
//   hash field        'S' + version(big-endian 8) + field  -> field value
//   set member        'S' + version(big-endian 8) + member -> empty
//   list element      'S' + version(big-endian 8) + index(big-endian 8) -> element
//   zset member       'S' + version(big-endian 8) + 'm' + member -> score(fixed64 of the bits)
//   zset score index  'S' + version(big-endian 8) + 'i' + ordered score(big-endian 8) + member
//                         -> empty
//
// A list's elements sit at indexes [head, head + length); a new list starts at head 2^63, so
// pushes at either end never run out of room. A zset's index orders members by (score,
// member), as Redis does, so ranges by score and by rank are scans of just what they return.
//
// Only metadata records carry user keys, so SCAN/KEYS/DBSIZE iterate [M, N) alone. A hash's
// fields live under a version unique in the database's lifetime (VersionAllocator), so no read
// can reach the fields of a deleted hash; DEL/UNLINK (and expiry set in the past) also cover
// the version's field range with one DeleteRange so compaction can reclaim them. FLUSHDB is
// one DeleteRange over the whole key space. The compaction filter that drops expired metadata
// records reads this encoding too, so it lives here.
//
// Thread-safety: the functions are pure (NowMs reads the clock); VersionAllocator and the
// compaction filter are thread-safe.
#ifndef CLOUDKV_REDIS_KEY_ENCODING_H_
#define CLOUDKV_REDIS_KEY_ENCODING_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cloudkv/compaction_filter.h"
#include "cloudkv/status.h"

namespace cloudkv::redis {

enum class ValueType : uint8_t { kString = 1, kHash = 2, kList = 3, kSet = 4, kZSet = 5 };

// The name TYPE reports ("string", "hash", "list", "set", "zset").
const char* TypeName(ValueType type);
// Every type but strings keeps its elements in records under a version.
inline bool IsCollection(ValueType type) { return type != ValueType::kString; }

// Where a new list's head starts (the middle of the index space).
inline constexpr uint64_t kListInitialHead = uint64_t{1} << 63;
inline constexpr char kZSetMemberTag = 'm';
inline constexpr char kZSetIndexTag = 'i';

inline constexpr char kMetaPrefix = 'M';
inline constexpr char kMetaEnd = 'N';  // exclusive upper bound of metadata records
inline constexpr char kFieldPrefix = 'S';

struct Metadata {
  ValueType type = ValueType::kString;
  uint64_t expire_at_ms = 0;  // 0 = no expiry
  std::string value;          // strings
  uint64_t version = 0;       // collections
  uint64_t count = 0;         // collections: number of fields, elements or members
  uint64_t head = 0;          // lists: index of the first element

  bool ExpiredAt(uint64_t now_ms) const { return expire_at_ms != 0 && expire_at_ms <= now_ms; }
};

std::string MetaKey(std::string_view user_key);
// The user key of a metadata record's key ('M' + user_key); nullopt for any other key.
std::optional<std::string_view> UserKeyOfMetaKey(std::string_view key);
// The version and field of a hash field's key; nullopt for any other key.
std::optional<std::pair<uint64_t, std::string_view>> DecodeFieldKey(std::string_view key);
std::string FieldKey(uint64_t version, std::string_view field);
// Lower bound of a hash version's fields; the upper bound is FieldPrefix(version + 1).
std::string FieldPrefix(uint64_t version);
// A list element's key: the element at absolute index `index` (head + position).
std::string ListElementKey(uint64_t version, uint64_t index);
// A zset member's record (its score) and its score-index record.
std::string ZSetMemberKey(uint64_t version, std::string_view member);
std::string ZSetIndexKey(uint64_t version, double score, std::string_view member);
// The prefix of a zset's index records (their upper bound: the same with the tag + 1), and
// the lower bound of the index records with a score >= `score`.
std::string ZSetIndexPrefix(uint64_t version);
std::string ZSetIndexLowerBound(uint64_t version, double score);
// The score and member of a zset index key; nullopt if it is not one.
std::optional<std::pair<double, std::string_view>> DecodeZSetIndexKey(std::string_view key);
// A score as 8 bytes that compare like the doubles (and back).
uint64_t OrderedScoreBits(double score);
double ScoreFromOrderedBits(uint64_t bits);
// A zset member record's value (the score) and back; nullopt if not 8 bytes.
std::string EncodeScore(double score);
std::optional<double> DecodeScore(std::string_view bytes);
std::string EncodeMetadata(const Metadata& meta);
// Appends the metadata record of a string (what EncodeMetadata gives for it) to `out`, without
// building a Metadata.
void AppendStringMetadata(std::string* out, std::string_view value, uint64_t expire_at_ms);
// Corruption (naming the key) if the bytes are not a metadata record.
Result<Metadata> DecodeMetadata(std::string_view user_key, std::string_view bytes);
// The same, taking the bytes: a string's value reuses their buffer instead of a copy.
Result<Metadata> DecodeOwnedMetadata(std::string_view user_key, std::string&& bytes);

// Milliseconds since the Unix epoch (the clock expiry is measured by).
uint64_t NowMs();

// The engine's compaction filter for this encoding: a metadata record whose expiry has passed
// becomes a tombstone when compaction meets it (docs/design.md §9), so expired keys stop taking
// space without a read or a DEL. Other records are kept (a hash's fields are reached only
// through its metadata; DEL and past EXPIRE range-delete them).
std::shared_ptr<const CompactionFilter> NewExpiryCompactionFilter();

// Hands out hash versions unique over the database's life: the writer epoch (bumped on every
// writer open, docs/design.md §4) in the high 24 bits and a per-process counter below it.
class VersionAllocator {
 public:
  explicit VersionAllocator(uint64_t writer_epoch);
  uint64_t Next();

 private:
  std::atomic<uint64_t> next_;
};

}  // namespace cloudkv::redis

#endif  // CLOUDKV_REDIS_KEY_ENCODING_H_
