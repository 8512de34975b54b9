// SPDX-License-Identifier: Apache-2.0
// BlockBuilder: encodes sorted key/value pairs into one block (docs/format-sst.md, "Blocks").
//
// Keys are prefix-compressed against the previous key; every `restart_interval` entries a key is
// stored whole and its offset recorded as a restart point, so a reader can binary-search the
// restart points and then scan at most `restart_interval` entries. The builder does not
// compare keys; the caller adds them in the order the reader will use (internal-key order for
// SST data and index blocks).
//
// Thread-safety: not thread-safe.
#ifndef CLOUDKV_FORMAT_BLOCK_BUILDER_H_
#define CLOUDKV_FORMAT_BLOCK_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cloudkv {

class BlockBuilder {
 public:
  // REQUIRES: restart_interval >= 1.
  explicit BlockBuilder(int restart_interval = 16);

  // Appends an entry. REQUIRES: Finish() not called since the last Reset(); keys in the
  // intended order; key and value shorter than 4 GiB.
  void Add(std::string_view key, std::string_view value);

  // Appends the restart array and returns the finished block. The view stays valid until
  // Reset() or destruction.
  std::string_view Finish();

  // Clears the builder for a new block.
  void Reset();

  // Size of the block Finish() would return now.
  size_t CurrentSizeEstimate() const;
  bool empty() const { return counter_ == 0 && buffer_.empty(); }
  size_t num_entries() const { return num_entries_; }
  std::string_view last_key() const { return last_key_; }

 private:
  const int restart_interval_;
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  int counter_ = 0;  // entries since the last restart point
  size_t num_entries_ = 0;
  bool finished_ = false;
  std::string last_key_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_FORMAT_BLOCK_BUILDER_H_
