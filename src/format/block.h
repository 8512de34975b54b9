// SPDX-License-Identifier: Apache-2.0
// Block: one decoded (uncompressed) block of prefix-compressed entries, and BlockIter, a cursor
// over it (format in block_builder.cc and docs/format-sst.md).
//
// Block bytes are untrusted: Block::Parse validates the restart array, and BlockIter checks
// every entry it decodes, turning bad bytes into a Corruption status (never an out-of-bounds
// read). Keys are internal keys (format/dbformat.h) and are ordered by CompareInternalKeys; an
// entry whose key is shorter than 8 bytes is corruption.
//
// Thread-safety: a Block is immutable and may be shared by any number of threads (the block
// cache hands out shared_ptr<const Block>). A BlockIter is not thread-safe.
#ifndef CLOUDKV_FORMAT_BLOCK_H_
#define CLOUDKV_FORMAT_BLOCK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cloudkv/iterator.h"
#include "cloudkv/status.h"

namespace cloudkv {

class Block {
 public:
  // Validates the restart array of `contents` and takes ownership of it. Corruption (with a
  // message saying what is wrong, but no object name: callers add that) if it is malformed.
  static Result<std::shared_ptr<const Block>> Parse(std::string contents);

  std::string_view contents() const { return contents_; }
  // Bytes this block holds in memory (its charge in the block cache).
  size_t memory_bytes() const { return contents_.capacity() + sizeof(Block); }

 private:
  friend class BlockIter;
  Block(std::string contents, uint32_t restarts_offset, uint32_t num_restarts)
      : contents_(std::move(contents)),
        restarts_offset_(restarts_offset),
        num_restarts_(num_restarts) {}

  const std::string contents_;
  const uint32_t restarts_offset_;  // where the restart array starts = end of the entries
  const uint32_t num_restarts_;
};

// A cursor over one Block. It is a concrete (final) class so the read hot path can keep one on
// the stack and call it without virtual dispatch; it also serves as a cloudkv::Iterator.
class BlockIter final : public Iterator {
 public:
  // An iterator over nothing; Init() binds it to a block.
  BlockIter() = default;
  // REQUIRES: block outlives the iterator (or the next Init()).
  explicit BlockIter(const Block* block) { Init(block); }
  void Init(const Block* block);
  // Unbinds the iterator (invalid, OK status).
  void Reset();

  bool Valid() const override { return current_ < restarts_offset_; }
  void SeekToFirst() override;
  void SeekToLast() override;
  // REQUIRES: target is an internal key (>= 8 bytes).
  void Seek(std::string_view target) override;
  void SeekForPrev(std::string_view target) override;
  void Next() override;
  void Prev() override;
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return status_; }

 private:
  uint32_t RestartPoint(uint32_t index) const;
  // Decodes the entry at current_ given key_ holds the previous key; false (and corruption)
  // if it is malformed.
  bool ParseCurrent();
  void SeekToRestart(uint32_t index);
  // Moves to the entry after the current one (or past the end); false on corruption.
  bool ParseNext();
  void Invalidate() { current_ = next_ = restarts_offset_; }
  void Corrupt(const char* what);
  // The key stored at a restart point, or false on corruption.
  bool RestartKey(uint32_t index, std::string_view* key);

  const char* data_ = nullptr;
  uint32_t restarts_offset_ = 0;
  uint32_t num_restarts_ = 0;
  uint32_t current_ = 0;        // offset of the current entry; restarts_offset_ when invalid
  uint32_t next_ = 0;           // offset of the entry after the current one
  uint32_t restart_index_ = 0;  // restart block holding current_
  std::string key_;
  std::string_view value_;
  Status status_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_BLOCK_H_
