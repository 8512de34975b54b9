// SPDX-License-Identifier: Apache-2.0
// Key encoding (see key_encoding.h and docs/server.md, "Key encoding").
//   metadata value := type(1) expire_at_ms(fixed64 LE) payload
//   string payload := value bytes
//   hash, set, zset payload := version(fixed64 LE) count(fixed64 LE)
//   list payload   := version(fixed64 LE) count(fixed64 LE) head(fixed64 LE)
//   field key      := 'S' version(fixed64 BE) field
//   list element   := 'S' version(fixed64 BE) index(fixed64 BE)
//   zset member    := 'S' version(fixed64 BE) 'm' member      -> score bits (fixed64 LE)
//   zset index     := 'S' version(fixed64 BE) 'i' ordered_score(fixed64 BE) member -> ""
#include "redis/key_encoding.h"

#include <cassert>
#include <chrono>
#include <cstring>

namespace cloudkv::redis {
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

}  // namespace

void AppendStringMetadata(std::string* out, std::string_view value, uint64_t expire_at_ms) {
  out->push_back(static_cast<char>(ValueType::kString));
  PutFixed64(out, expire_at_ms);
  out->append(value);
}

std::string MetaKey(std::string_view user_key) {
  std::string key;
  key.reserve(user_key.size() + 1);
  key.push_back(kMetaPrefix);
  key.append(user_key);
  return key;
}

std::optional<std::string_view> UserKeyOfMetaKey(std::string_view key) {
  if (key.empty() || key.front() != kMetaPrefix) return std::nullopt;
  return key.substr(1);
}

std::optional<std::pair<uint64_t, std::string_view>> DecodeFieldKey(std::string_view key) {
  if (key.size() < 9 || key.front() != kFieldPrefix) return std::nullopt;
  uint64_t version = 0;
  for (size_t i = 1; i < 9; i++) version = (version << 8) | static_cast<unsigned char>(key[i]);
  return std::make_pair(version, key.substr(9));
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

const char* TypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kHash:
      return "hash";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZSet:
      return "zset";
  }
  return "none";
}

std::string ListElementKey(uint64_t version, uint64_t index) {
  std::string key = FieldPrefix(version);
  PutBigEndian64(&key, index);
  return key;
}

std::string ZSetMemberKey(uint64_t version, std::string_view member) {
  std::string key = FieldPrefix(version);
  key.push_back(kZSetMemberTag);
  key.append(member);
  return key;
}

uint64_t OrderedScoreBits(double score) {
  if (score == 0) score = 0;  // -0 sorts with 0
  uint64_t bits = 0;
  static_assert(sizeof(bits) == sizeof(score));
  std::memcpy(&bits, &score, sizeof(bits));
  // Negative numbers: flip every bit (larger magnitude sorts first); others: flip the sign.
  return (bits & (uint64_t{1} << 63)) ? ~bits : bits | (uint64_t{1} << 63);
}

double ScoreFromOrderedBits(uint64_t bits) {
  bits = (bits & (uint64_t{1} << 63)) ? bits & ~(uint64_t{1} << 63) : ~bits;
  double score = 0;
  std::memcpy(&score, &bits, sizeof(score));
  return score;
}

std::string ZSetIndexPrefix(uint64_t version) {
  std::string key = FieldPrefix(version);
  key.push_back(kZSetIndexTag);
  return key;
}

std::string ZSetIndexLowerBound(uint64_t version, double score) {
  std::string key = ZSetIndexPrefix(version);
  PutBigEndian64(&key, OrderedScoreBits(score));
  return key;
}

std::string ZSetIndexKey(uint64_t version, double score, std::string_view member) {
  std::string key = ZSetIndexLowerBound(version, score);
  key.append(member);
  return key;
}

std::optional<std::pair<double, std::string_view>> DecodeZSetIndexKey(std::string_view key) {
  constexpr size_t kPrefix = 1 + 8 + 1;
  if (key.size() < kPrefix + 8 || key[kPrefix - 1] != kZSetIndexTag) return std::nullopt;
  uint64_t bits = 0;
  for (size_t i = kPrefix; i < kPrefix + 8; i++) bits = (bits << 8) | static_cast<uint8_t>(key[i]);
  return std::make_pair(ScoreFromOrderedBits(bits), key.substr(kPrefix + 8));
}

std::string EncodeScore(double score) {
  uint64_t bits = 0;
  std::memcpy(&bits, &score, sizeof(bits));
  std::string out;
  PutFixed64(&out, bits);
  return out;
}

std::optional<double> DecodeScore(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t bits = GetFixed64(bytes);
  double score = 0;
  std::memcpy(&score, &bits, sizeof(score));
  return score;
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
    if (meta.type == ValueType::kList) PutFixed64(&out, meta.head);
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
  } else if (type == static_cast<uint8_t>(ValueType::kHash) ||
             type == static_cast<uint8_t>(ValueType::kSet) ||
             type == static_cast<uint8_t>(ValueType::kZSet)) {
    if (payload.size() != 16) return corrupt("bad collection payload size");
    meta.type = static_cast<ValueType>(type);
    meta.version = GetFixed64(payload);
    meta.count = GetFixed64(payload.substr(8));
  } else if (type == static_cast<uint8_t>(ValueType::kList)) {
    if (payload.size() != 24) return corrupt("bad list payload size");
    meta.type = ValueType::kList;
    meta.version = GetFixed64(payload);
    meta.count = GetFixed64(payload.substr(8));
    meta.head = GetFixed64(payload.substr(16));
    if (meta.head + meta.count < meta.head) return corrupt("list indexes overflow");
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

}  // namespace cloudkv::redis
