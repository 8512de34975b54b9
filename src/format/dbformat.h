// SPDX-License-Identifier: Apache-2.0
// Internal keys (docs/design.md §7): user key + 8 bytes holding (sequence << 8 | type),
// little-endian. Order: user key ascending (byte-wise), then sequence descending, then type
// descending, so the newest version of a key comes first.
#ifndef CLOUDKV_FORMAT_DBFORMAT_H_
#define CLOUDKV_FORMAT_DBFORMAT_H_

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/coding.h"

namespace cloudkv {

using SequenceNumber = uint64_t;
constexpr SequenceNumber kMaxSequenceNumber = (1ull << 56) - 1;

enum ValueType : uint8_t {
  kTypeDeletion = 0,
  kTypeValue = 1,
  kTypeRangeDeletion = 2,  // value holds the exclusive end key
};
// Used when seeking: sorts before every real entry of the same (key, sequence).
constexpr ValueType kValueTypeForSeek = kTypeRangeDeletion;

inline uint64_t PackSequenceAndType(SequenceNumber seq, ValueType t) {
  assert(seq <= kMaxSequenceNumber);
  return (seq << 8) | t;
}

struct ParsedInternalKey {
  std::string_view user_key;
  SequenceNumber sequence = 0;
  ValueType type = kTypeValue;
};

inline void AppendInternalKey(std::string* out, std::string_view user_key, SequenceNumber seq,
                              ValueType t) {
  out->append(user_key.data(), user_key.size());
  PutFixed64(out, PackSequenceAndType(seq, t));
}

inline std::string MakeInternalKey(std::string_view user_key, SequenceNumber seq, ValueType t) {
  std::string out;
  out.reserve(user_key.size() + 8);
  AppendInternalKey(&out, user_key, seq, t);
  return out;
}

inline std::string_view ExtractUserKey(std::string_view internal_key) {
  assert(internal_key.size() >= 8);
  return internal_key.substr(0, internal_key.size() - 8);
}

inline uint64_t ExtractTrailer(std::string_view internal_key) {
  return DecodeFixed64(internal_key.data() + internal_key.size() - 8);
}

// False if the key is too short or has an unknown type (untrusted input).
inline bool ParseInternalKey(std::string_view internal_key, ParsedInternalKey* out) {
  if (internal_key.size() < 8) return false;
  uint64_t trailer = ExtractTrailer(internal_key);
  uint8_t type = trailer & 0xff;
  if (type > kTypeRangeDeletion) return false;
  out->user_key = ExtractUserKey(internal_key);
  out->sequence = trailer >> 8;
  out->type = static_cast<ValueType>(type);
  return true;
}

// Three-way comparison of internal keys. REQUIRES: both at least 8 bytes.
inline int CompareInternalKeys(std::string_view a, std::string_view b) {
  int r = ExtractUserKey(a).compare(ExtractUserKey(b));
  if (r != 0) return r < 0 ? -1 : 1;
  uint64_t ta = ExtractTrailer(a), tb = ExtractTrailer(b);
  if (ta > tb) return -1;
  if (ta < tb) return 1;
  return 0;
}

// What a lookup in one source (memtable, SST) found for a user key at a snapshot: the newest
// entry with sequence <= snapshot, if the source has one.
// kNotCached: a cache-only lookup (SstReader::Get) stopped at a block the block cache does not
// hold; it says nothing about the key.
enum class LookupState : uint8_t { kNotPresent, kFound, kDeleted, kNotCached };
struct LookupResult {
  LookupState state = LookupState::kNotPresent;
  std::string value;            // for kFound
  SequenceNumber sequence = 0;  // of the entry found (kFound or kDeleted)
};

// A comparator object for ordered containers and the merging iterator.
struct InternalKeyLess {
  bool operator()(std::string_view a, std::string_view b) const {
    return CompareInternalKeys(a, b) < 0;
  }
};

// A range tombstone [begin, end) @ seq deletes every user key k with begin <= k < end whose
// entries have a sequence below seq, for readers whose snapshot is >= seq. SSTs store them as
// written; src/db fragments them for reads (db/range_tombstone.h).
struct RangeTombstone {
  std::string begin;  // inclusive
  std::string end;    // exclusive
  SequenceNumber seq = 0;

  bool operator==(const RangeTombstone&) const = default;
};

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_DBFORMAT_H_
