// SPDX-License-Identifier: Apache-2.0
// Block grammar (all integers little-endian, varints LEB128):
//
//   block   := entry* restart* num_restarts:fixed32
//   entry   := shared:varint32 non_shared:varint32 value_size:varint32
//              key_suffix:byte[non_shared] value:byte[value_size]
//   restart := offset of an entry with shared == 0 :fixed32
//
// The first entry is always a restart point, so num_restarts >= 1 for a non-empty block. An empty
// block is just num_restarts = 0.
#include "format/block_builder.h"

#include <algorithm>
#include <cassert>

#include "util/coding.h"

namespace cloudkv {

BlockBuilder::BlockBuilder(int restart_interval) : restart_interval_(restart_interval) {
  assert(restart_interval >= 1);
}

void BlockBuilder::Reset() {
  buffer_.clear();
  restarts_.clear();
  counter_ = 0;
  num_entries_ = 0;
  finished_ = false;
  last_key_.clear();
}

size_t BlockBuilder::CurrentSizeEstimate() const {
  return buffer_.size() + restarts_.size() * 4 + 4;
}

void BlockBuilder::Add(std::string_view key, std::string_view value) {
  assert(!finished_);
  assert(key.size() < (1ull << 32) && value.size() < (1ull << 32));
  size_t shared = 0;
  if (counter_ < restart_interval_ && num_entries_ > 0) {
    const size_t limit = std::min(last_key_.size(), key.size());
    while (shared < limit && last_key_[shared] == key[shared]) shared++;
  } else {
    restarts_.push_back(static_cast<uint32_t>(buffer_.size()));
    counter_ = 0;
  }
  const size_t non_shared = key.size() - shared;
  char header[15];
  char* p = EncodeVarint32(header, static_cast<uint32_t>(shared));
  p = EncodeVarint32(p, static_cast<uint32_t>(non_shared));
  p = EncodeVarint32(p, static_cast<uint32_t>(value.size()));
  buffer_.append(header, p - header);
  buffer_.append(key.data() + shared, non_shared);
  buffer_.append(value.data(), value.size());
  last_key_.resize(shared);
  last_key_.append(key.data() + shared, non_shared);
  assert(last_key_ == key);
  counter_++;
  num_entries_++;
}

std::string_view BlockBuilder::Finish() {
  assert(!finished_);
  for (uint32_t r : restarts_) PutFixed32(&buffer_, r);
  PutFixed32(&buffer_, static_cast<uint32_t>(restarts_.size()));
  finished_ = true;
  return buffer_;
}

}  // namespace cloudkv
