// SPDX-License-Identifier: Apache-2.0
// WAL object encoding (docs/format-wal.md has the full specification). All integers are
// little-endian.
//   object  := header record* trailer
//   header  := magic[8] = "ckv-wal\n" | fixed32 version (= 1) | fixed32 flags (bit 0: fence)
//              | fixed64 id | fixed64 epoch | fixed64 nonce                        (40 bytes)
//   record  := fixed64 first_sequence | fixed64 commit_time_micros | fixed32 count
//              | fixed32 data_length | data[data_length] (WriteBatch records)
//              | fixed32 record_checksum (low 32 bits of XXH3-64 of the record so far)
//   trailer := fixed32 record_count | fixed64 checksum (XXH3-64 of every byte before it)
#include "format/wal_format.h"

#include <cassert>
#include <cinttypes>
#include <cstdio>

#include "util/coding.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

constexpr uint32_t kFlagFence = 1;
constexpr uint32_t kKnownFlags = kFlagFence;
constexpr std::string_view kKeyPrefix = "wal/";
constexpr std::string_view kKeySuffix = ".wal";
constexpr size_t kIdDigits = 20;

std::string EncodeHeader(uint64_t id, uint64_t epoch, uint64_t nonce, uint32_t flags) {
  std::string out;
  out.reserve(kWalHeaderBytes);
  out.append(kWalMagic);
  PutFixed32(&out, kWalFormatVersion);
  PutFixed32(&out, flags);
  PutFixed64(&out, id);
  PutFixed64(&out, epoch);
  PutFixed64(&out, nonce);
  assert(out.size() == kWalHeaderBytes);
  return out;
}

void AppendTrailer(std::string* out, uint32_t record_count) {
  PutFixed32(out, record_count);
  PutFixed64(out, Checksum64(*out));
}

Status Damage(std::string_view object_key, size_t offset, std::string_view what) {
  return Status::Corruption(std::string(object_key) + ": offset " + std::to_string(offset) + ": " +
                            std::string(what));
}

}  // namespace

WalObjectBuilder::WalObjectBuilder(uint64_t id, uint64_t epoch, uint64_t nonce)
    : buffer_(EncodeHeader(id, epoch, nonce, /*flags=*/0)) {}

void WalObjectBuilder::AddBatch(SequenceNumber first_seq, uint64_t commit_time_micros,
                                const WriteBatch& batch) {
  assert(!finished_);
  assert(!batch.empty());
  assert(first_seq >= next_sequence_);
  assert(first_seq + batch.Count() - 1 <= kMaxSequenceNumber);
  assert(commit_time_micros >= last_commit_time_micros_);
  const std::string_view data = batch.Data();
  const size_t record_start = buffer_.size();
  PutFixed64(&buffer_, first_seq);
  PutFixed64(&buffer_, commit_time_micros);
  PutFixed32(&buffer_, batch.Count());
  PutFixed32(&buffer_, static_cast<uint32_t>(data.size()));
  buffer_.append(data.data(), data.size());
  PutFixed32(&buffer_, Checksum32(std::string_view(buffer_).substr(record_start)));
  assert(size_bytes() <= kMaxWalObjectBytes);
  num_batches_++;
  next_sequence_ = first_seq + batch.Count();
  last_commit_time_micros_ = commit_time_micros;
}

std::string WalObjectBuilder::Finish() {
  assert(!finished_);
  finished_ = true;
  AppendTrailer(&buffer_, num_batches_);
  return std::move(buffer_);
}

std::string EncodeFence(uint64_t id, uint64_t epoch, uint64_t nonce) {
  std::string out = EncodeHeader(id, epoch, nonce, kFlagFence);
  AppendTrailer(&out, 0);
  return out;
}

Result<WalObject> DecodeWalObject(std::string_view object_key, std::string_view data) {
  ASSIGN_OR_RETURN(uint64_t key_id, ParseWalObjectKey(object_key));
  const size_t size = data.size();
  if (size < kWalHeaderBytes + kWalTrailerBytes) {
    return Damage(object_key, size, "truncated: " + std::to_string(size) + " bytes");
  }
  if (size > kMaxWalObjectBytes) return Damage(object_key, 0, "object too large");
  if (data.substr(0, kWalMagic.size()) != kWalMagic) return Damage(object_key, 0, "bad magic");
  const uint32_t version = DecodeFixed32(data.data() + 8);
  if (version != kWalFormatVersion) {
    return Damage(object_key, 8, "unsupported format version " + std::to_string(version));
  }
  // The checksum covers everything else, so once it matches, the remaining checks find only
  // encoder bugs or deliberate tampering; they still run, because wrong data is never an option.
  const size_t checksum_offset = size - 8;
  if (Checksum64(data.substr(0, checksum_offset)) != DecodeFixed64(data.data() + checksum_offset)) {
    return Damage(object_key, checksum_offset, "checksum mismatch (damaged or truncated)");
  }

  WalObject object;
  const uint32_t flags = DecodeFixed32(data.data() + 12);
  if ((flags & ~kKnownFlags) != 0) return Damage(object_key, 12, "unknown flags");
  object.fence = (flags & kFlagFence) != 0;
  object.id = DecodeFixed64(data.data() + 16);
  object.epoch = DecodeFixed64(data.data() + 24);
  object.nonce = DecodeFixed64(data.data() + 32);
  if (object.id != key_id) {
    return Damage(object_key, 16, "object id " + std::to_string(object.id) + " differs from key");
  }

  const size_t records_end = size - kWalTrailerBytes;
  size_t offset = kWalHeaderBytes;
  SequenceNumber next_sequence = 0;
  uint64_t last_commit_time = 0;
  while (offset < records_end) {
    if (records_end - offset < kWalRecordHeaderBytes + kWalRecordTrailerBytes) {
      return Damage(object_key, offset, "truncated batch record");
    }
    const char* p = data.data() + offset;
    WalBatch batch;
    batch.first_sequence = DecodeFixed64(p);
    batch.commit_time_micros = DecodeFixed64(p + 8);
    batch.count = DecodeFixed32(p + 16);
    const uint32_t data_length = DecodeFixed32(p + 20);
    const size_t record_bytes = kWalRecordHeaderBytes + size_t{data_length};
    if (record_bytes + kWalRecordTrailerBytes > records_end - offset) {
      return Damage(object_key, offset, "batch record length past the end");
    }
    if (Checksum32(data.substr(offset, record_bytes)) != DecodeFixed32(p + record_bytes)) {
      return Damage(object_key, offset + record_bytes, "batch record checksum mismatch");
    }
    if (batch.count == 0) return Damage(object_key, offset + 16, "empty batch");
    if (batch.first_sequence < next_sequence ||
        batch.first_sequence > kMaxSequenceNumber - (batch.count - 1)) {
      return Damage(object_key, offset, "batch sequence numbers not increasing or out of range");
    }
    if (batch.commit_time_micros < last_commit_time) {
      return Damage(object_key, offset + 8, "commit time goes backwards");
    }
    const std::string_view batch_data = data.substr(offset + kWalRecordHeaderBytes, data_length);
    WriteBatch check;
    if (Status s = check.SetData(batch_data, batch.count); !s.ok()) {
      return Damage(object_key, offset + kWalRecordHeaderBytes, s.message());
    }
    batch.data.assign(batch_data.data(), batch_data.size());
    next_sequence = batch.first_sequence + batch.count;
    last_commit_time = batch.commit_time_micros;
    object.batches.push_back(std::move(batch));
    offset += record_bytes + kWalRecordTrailerBytes;
  }
  assert(offset == records_end);
  const uint32_t record_count = DecodeFixed32(data.data() + records_end);
  if (record_count != object.batches.size()) {
    return Damage(object_key, records_end,
                  "trailer says " + std::to_string(record_count) + " batches, found " +
                      std::to_string(object.batches.size()));
  }
  if (object.fence && !object.batches.empty()) {
    return Damage(object_key, kWalHeaderBytes, "fence with batches");
  }
  return object;
}

std::string WalObjectKey(uint64_t id) {
  char digits[kIdDigits + 1];
  std::snprintf(digits, sizeof(digits), "%020" PRIu64, id);
  std::string key(kKeyPrefix);
  key.append(digits, kIdDigits);
  key.append(kKeySuffix);
  return key;
}

Result<uint64_t> ParseWalObjectKey(std::string_view key) {
  const std::string_view original = key;
  auto invalid = [&] {
    return Status::InvalidArgument("not a WAL object key: " + std::string(original));
  };
  if (key.size() != kKeyPrefix.size() + kIdDigits + kKeySuffix.size() ||
      !key.starts_with(kKeyPrefix) || !key.ends_with(kKeySuffix)) {
    return invalid();
  }
  key = key.substr(kKeyPrefix.size(), kIdDigits);
  uint64_t id = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return invalid();
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (id > (UINT64_MAX - digit) / 10) return invalid();  // overflow
    id = id * 10 + digit;
  }
  return id;
}

}  // namespace cloudkv
