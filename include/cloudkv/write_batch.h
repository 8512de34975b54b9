// SPDX-License-Identifier: Apache-2.0
// WriteBatch: a group of updates applied atomically, in order, by DB::Write. The i-th record
// gets the batch's first sequence number + i, so a DeleteRange deletes the keys the batch's
// earlier records wrote and not those its later records write.
//
// The encoding (see docs/format-wal.md, "batch") is a sequence of records:
//   kTypeValue varstring(key) varstring(value) | kTypeDeletion varstring(key) |
//   kTypeRangeDeletion varstring(begin) varstring(end)
//
// Thread-safety: a batch may be read from several threads; writing needs external sync.
#ifndef CLOUDKV_WRITE_BATCH_H_
#define CLOUDKV_WRITE_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cloudkv/status.h"

namespace cloudkv {

class WriteBatch {
 public:
  // Receives the records of a batch in order.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual Status Put(std::string_view key, std::string_view value) = 0;
    virtual Status Delete(std::string_view key) = 0;
    // Deletes keys in [begin, end).
    virtual Status DeleteRange(std::string_view begin, std::string_view end) = 0;
  };

  WriteBatch() = default;

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Deletes every key in [begin, end) (see DB::DeleteRange). The batch accepts any bounds;
  // DB::Write rejects the batch if begin > end (begin == end deletes nothing).
  void DeleteRange(std::string_view begin, std::string_view end);
  void Clear();

  // Number of records.
  uint32_t Count() const { return count_; }
  // Bytes of the encoded records (what the batch costs in the WAL).
  size_t ByteSize() const { return rep_.size(); }
  bool empty() const { return count_ == 0; }

  // Calls the handler for each record in order; stops at the first error and returns it (a
  // handler's own status). Corruption if the encoding is damaged (batches decoded from storage
  // are untrusted).
  Status Iterate(Handler* handler) const;

  // The encoded records.
  std::string_view Data() const { return rep_; }
  // Replaces the contents with an encoded batch of `count` records, validated by Iterate.
  // Corruption (the batch unchanged) if the bytes do not decode to exactly `count` records.
  Status SetData(std::string_view data, uint32_t count);

 private:
  std::string rep_;
  uint32_t count_ = 0;
};

}  // namespace cloudkv

#endif  // CLOUDKV_WRITE_BATCH_H_
