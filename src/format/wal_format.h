// SPDX-License-Identifier: Apache-2.0
// WAL object codec (docs/format-wal.md). A WAL object `wal/<20-digit id>.wal` holds one
// group-commit segment (a run of write batches with their sequence numbers and commit times)
// or, with no batches, a fence that a new writer places to cut off older writers (docs/design.md
// §4).
//
// Objects read back are untrusted: DecodeWalObject verifies everything and returns Corruption
// naming the object key and byte offset for any damage.
//
// Thread-safety: WalObjectBuilder is not thread-safe; the free functions are.
#ifndef CLOUDKV_FORMAT_WAL_FORMAT_H_
#define CLOUDKV_FORMAT_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/status.h"
#include "cloudkv/write_batch.h"
#include "format/dbformat.h"

namespace cloudkv {

// The first 8 bytes of every WAL object.
inline constexpr std::string_view kWalMagic = "ckv-wal\n";
inline constexpr uint32_t kWalFormatVersion = 1;
inline constexpr size_t kWalHeaderBytes = 40;
inline constexpr size_t kWalRecordHeaderBytes = 24;
inline constexpr size_t kWalRecordTrailerBytes = 4;
inline constexpr size_t kWalTrailerBytes = 12;
// Limit on a whole object: WAL objects are single PUTs and must stay far below S3's 5 GB.
inline constexpr size_t kMaxWalObjectBytes = size_t{1} << 30;

// One write batch as stored in a WAL object. Its records have sequence numbers first_sequence,
// first_sequence + 1, ..., first_sequence + count - 1.
struct WalBatch {
  SequenceNumber first_sequence = 0;
  uint64_t commit_time_micros = 0;
  uint32_t count = 0;
  std::string data;  // WriteBatch::Data(), validated (WriteBatch::SetData accepts it with count)
};

struct WalObject {
  uint64_t id = 0;
  uint64_t epoch = 0;
  uint64_t nonce = 0;
  bool fence = false;  // a fence has no batches
  std::vector<WalBatch> batches;
};

// Builds a WAL object incrementally: the WAL writer appends batches as they commit, checks
// size_bytes() against its flush threshold, then seals the object with Finish().
class WalObjectBuilder {
 public:
  WalObjectBuilder(uint64_t id, uint64_t epoch, uint64_t nonce);
  WalObjectBuilder(const WalObjectBuilder&) = delete;
  WalObjectBuilder& operator=(const WalObjectBuilder&) = delete;

  // Appends a batch. REQUIRES: !batch.empty(); first_seq is above every sequence already added
  // (first_seq >= previous first_seq + previous count); first_seq + batch.Count() - 1 <=
  // kMaxSequenceNumber; commit times non-decreasing; size_bytes() stays <= kMaxWalObjectBytes;
  // Finish() not yet called.
  void AddBatch(SequenceNumber first_seq, uint64_t commit_time_micros, const WriteBatch& batch);

  // Bytes the object would have if finished now.
  size_t size_bytes() const { return buffer_.size() + kWalTrailerBytes; }
  size_t num_batches() const { return num_batches_; }
  // The next sequence a batch may start at (0 before the first batch).
  SequenceNumber next_sequence() const { return next_sequence_; }

  // Returns the whole object. REQUIRES: called once.
  std::string Finish();

 private:
  std::string buffer_;
  uint32_t num_batches_ = 0;
  SequenceNumber next_sequence_ = 0;
  uint64_t last_commit_time_micros_ = 0;
  bool finished_ = false;
};

// A fence object: the header with the fence flag, no batches.
std::string EncodeFence(uint64_t id, uint64_t epoch, uint64_t nonce);

// Decodes and verifies a WAL object read from `object_key`. Corruption (naming object_key and
// the offset) for any damage: bad magic, unknown version or flags, truncation, checksum
// mismatch, id differing from the key's, record count mismatch, a batch whose records do not
// match its count, empty batches, sequences not increasing, a fence with batches.
// InvalidArgument if object_key is not a WAL object key.
Result<WalObject> DecodeWalObject(std::string_view object_key, std::string_view data);

// "wal/" + id as 20 zero-padded decimal digits + ".wal"; keys sort in id order.
std::string WalObjectKey(uint64_t id);
// The id of a WAL object key; InvalidArgument for anything else.
Result<uint64_t> ParseWalObjectKey(std::string_view key);

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_WAL_FORMAT_H_
