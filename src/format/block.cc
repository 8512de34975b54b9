// SPDX-License-Identifier: Apache-2.0
// Decoding of the block grammar in block_builder.cc. Every offset read from the block is
// checked against the block's bounds before use.
#include "format/block.h"

#include <cassert>

#include "format/dbformat.h"
#include "util/coding.h"

namespace cloudkv {

Result<std::shared_ptr<const Block>> Block::Parse(std::string contents) {
  const size_t size = contents.size();
  if (size < 4 || size > UINT32_MAX) {
    return Status::Corruption("block of " + std::to_string(size) + " bytes is malformed");
  }
  const uint32_t num_restarts = DecodeFixed32(contents.data() + size - 4);
  if (num_restarts > (size - 4) / 4) {
    return Status::Corruption("block restart count " + std::to_string(num_restarts) +
                              " too large for " + std::to_string(size) + " bytes");
  }
  const uint32_t restarts_offset = static_cast<uint32_t>(size - 4 - 4ull * num_restarts);
  if (num_restarts == 0 && restarts_offset != 0) {
    return Status::Corruption("block has entries but no restart points");
  }
  // Restart points must start at 0 and increase strictly within the entry area, so that every
  // later use of them needs no further checks.
  uint32_t previous = 0;
  for (uint32_t i = 0; i < num_restarts; i++) {
    const uint32_t r = DecodeFixed32(contents.data() + restarts_offset + 4ull * i);
    if ((i == 0 && r != 0) || (i > 0 && r <= previous) || r >= restarts_offset) {
      return Status::Corruption("block restart point " + std::to_string(i) + " out of order");
    }
    previous = r;
  }
  return std::shared_ptr<const Block>(
      new Block(std::move(contents), restarts_offset, num_restarts));
}

void BlockIter::Init(const Block* block) {
  data_ = block->contents_.data();
  restarts_offset_ = block->restarts_offset_;
  num_restarts_ = block->num_restarts_;
  status_ = Status::OK();
  key_.clear();
  value_ = {};
  restart_index_ = 0;
  Invalidate();
}

void BlockIter::Reset() {
  data_ = nullptr;
  restarts_offset_ = num_restarts_ = 0;
  status_ = Status::OK();
  key_.clear();
  value_ = {};
  restart_index_ = 0;
  Invalidate();
}

uint32_t BlockIter::RestartPoint(uint32_t index) const {
  assert(index < num_restarts_);
  return DecodeFixed32(data_ + restarts_offset_ + 4ull * index);
}

void BlockIter::Corrupt(const char* what) {
  if (status_.ok()) {
    status_ =
        Status::Corruption(std::string(what) + " at block offset " + std::to_string(current_));
  }
  key_.clear();
  value_ = {};
  Invalidate();
}

// Decodes the three varint header fields of the entry at p (bounded by limit).
static inline const char* DecodeEntry(const char* p, const char* limit, uint32_t* shared,
                                      uint32_t* non_shared, uint32_t* value_size) {
  if (limit - p < 3) return nullptr;
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  if ((u[0] | u[1] | u[2]) < 128) {  // fast path: all three fit in one byte
    *shared = u[0];
    *non_shared = u[1];
    *value_size = u[2];
    p += 3;
  } else {
    if ((p = GetVarint32Ptr(p, limit, shared)) == nullptr) return nullptr;
    if ((p = GetVarint32Ptr(p, limit, non_shared)) == nullptr) return nullptr;
    if ((p = GetVarint32Ptr(p, limit, value_size)) == nullptr) return nullptr;
  }
  if (static_cast<uint64_t>(limit - p) < static_cast<uint64_t>(*non_shared) + *value_size) {
    return nullptr;
  }
  return p;
}

bool BlockIter::ParseCurrent() {
  const char* p = data_ + current_;
  const char* limit = data_ + restarts_offset_;
  uint32_t shared, non_shared, value_size;
  p = DecodeEntry(p, limit, &shared, &non_shared, &value_size);
  if (p == nullptr || shared > key_.size()) {
    Corrupt("bad block entry");
    return false;
  }
  key_.resize(shared);
  key_.append(p, non_shared);
  if (key_.size() < 8) {
    Corrupt("block key shorter than 8 bytes");
    return false;
  }
  value_ = std::string_view(p + non_shared, value_size);
  next_ = static_cast<uint32_t>((p + non_shared + value_size) - data_);
  while (restart_index_ + 1 < num_restarts_ && RestartPoint(restart_index_ + 1) <= current_) {
    restart_index_++;
  }
  return true;
}

bool BlockIter::ParseNext() {
  current_ = next_;
  if (current_ >= restarts_offset_) {
    key_.clear();
    value_ = {};
    Invalidate();
    return true;
  }
  return ParseCurrent();
}

void BlockIter::SeekToRestart(uint32_t index) {
  key_.clear();
  restart_index_ = index;
  current_ = RestartPoint(index);
  ParseCurrent();
}

bool BlockIter::RestartKey(uint32_t index, std::string_view* key) {
  const char* p = data_ + RestartPoint(index);
  const char* limit = data_ + restarts_offset_;
  uint32_t shared, non_shared, value_size;
  p = DecodeEntry(p, limit, &shared, &non_shared, &value_size);
  if (p == nullptr || shared != 0 || non_shared < 8) {
    current_ = RestartPoint(index);
    Corrupt("bad block restart entry");
    return false;
  }
  *key = std::string_view(p, non_shared);
  return true;
}

void BlockIter::SeekToFirst() {
  if (!status_.ok()) return;
  if (num_restarts_ == 0) return Invalidate();
  SeekToRestart(0);
}

void BlockIter::SeekToLast() {
  if (!status_.ok()) return;
  if (num_restarts_ == 0) return Invalidate();
  SeekToRestart(num_restarts_ - 1);
  while (Valid() && next_ < restarts_offset_) {
    if (!ParseNext()) return;
  }
}

void BlockIter::Seek(std::string_view target) {
  assert(target.size() >= 8);
  if (!status_.ok()) return;
  if (num_restarts_ == 0) return Invalidate();
  // Binary search for the last restart point whose key is < target.
  uint32_t left = 0, right = num_restarts_ - 1;
  while (left < right) {
    const uint32_t mid = left + (right - left + 1) / 2;
    std::string_view mid_key;
    if (!RestartKey(mid, &mid_key)) return;
    if (CompareInternalKeys(mid_key, target) < 0) {
      left = mid;
    } else {
      right = mid - 1;
    }
  }
  SeekToRestart(left);
  while (Valid()) {
    if (CompareInternalKeys(key_, target) >= 0) return;
    if (!ParseNext()) return;
  }
}

void BlockIter::SeekForPrev(std::string_view target) {
  Seek(target);
  if (!status_.ok()) return;
  if (!Valid()) {
    SeekToLast();
  } else if (CompareInternalKeys(key_, target) > 0) {
    Prev();
  }
}

void BlockIter::Next() {
  assert(Valid());
  ParseNext();
}

void BlockIter::Prev() {
  assert(Valid());
  const uint32_t original = current_;
  // Find the restart point strictly before the current entry, then scan forward to the entry
  // just before it.
  while (RestartPoint(restart_index_) >= original) {
    if (restart_index_ == 0) {
      key_.clear();
      value_ = {};
      Invalidate();
      return;
    }
    restart_index_--;
  }
  SeekToRestart(restart_index_);
  while (Valid() && next_ < original) {
    if (!ParseNext()) return;
  }
  if (Valid() && next_ != original) Corrupt("block entries do not chain");
}

}  // namespace cloudkv
