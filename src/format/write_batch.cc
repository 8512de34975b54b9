// SPDX-License-Identifier: Apache-2.0
// WriteBatch encoding (docs/format-wal.md, "batch"):
//   record := kTypeValue varstring(key) varstring(value)
//           | kTypeDeletion varstring(key)
//           | kTypeRangeDeletion varstring(begin) varstring(end)
//   varstring := varint32(length) bytes
#include "cloudkv/write_batch.h"

#include "format/dbformat.h"
#include "util/coding.h"

namespace cloudkv {

void WriteBatch::Put(std::string_view key, std::string_view value) {
  rep_.push_back(static_cast<char>(kTypeValue));
  PutLengthPrefixed(&rep_, key);
  PutLengthPrefixed(&rep_, value);
  count_++;
}

void WriteBatch::Delete(std::string_view key) {
  rep_.push_back(static_cast<char>(kTypeDeletion));
  PutLengthPrefixed(&rep_, key);
  count_++;
}

void WriteBatch::DeleteRange(std::string_view begin, std::string_view end) {
  rep_.push_back(static_cast<char>(kTypeRangeDeletion));
  PutLengthPrefixed(&rep_, begin);
  PutLengthPrefixed(&rep_, end);
  count_++;
}

void WriteBatch::Clear() {
  rep_.clear();
  count_ = 0;
}

Status WriteBatch::Iterate(Handler* handler) const {
  std::string_view in = rep_;
  uint32_t seen = 0;
  while (!in.empty()) {
    char tag = in.front();
    in.remove_prefix(1);
    std::string_view a, b;
    switch (tag) {
      case kTypeValue:
        if (!GetLengthPrefixed(&in, &a) || !GetLengthPrefixed(&in, &b)) {
          return Status::Corruption("write batch: truncated put record");
        }
        if (Status s = handler->Put(a, b); !s.ok()) return s;
        break;
      case kTypeDeletion:
        if (!GetLengthPrefixed(&in, &a)) {
          return Status::Corruption("write batch: truncated delete record");
        }
        if (Status s = handler->Delete(a); !s.ok()) return s;
        break;
      case kTypeRangeDeletion:
        if (!GetLengthPrefixed(&in, &a) || !GetLengthPrefixed(&in, &b)) {
          return Status::Corruption("write batch: truncated range-delete record");
        }
        if (Status s = handler->DeleteRange(a, b); !s.ok()) return s;
        break;
      default:
        return Status::Corruption("write batch: unknown record tag " +
                                  std::to_string(static_cast<unsigned char>(tag)));
    }
    seen++;
  }
  if (seen != count_) {
    return Status::Corruption("write batch: header says " + std::to_string(count_) +
                              " records, found " + std::to_string(seen));
  }
  return Status::OK();
}

Status WriteBatch::SetData(std::string_view data, uint32_t count) {
  WriteBatch copy;
  copy.rep_.assign(data.data(), data.size());
  copy.count_ = count;
  struct Null : Handler {
    Status Put(std::string_view, std::string_view) override { return Status::OK(); }
    Status Delete(std::string_view) override { return Status::OK(); }
    Status DeleteRange(std::string_view, std::string_view) override { return Status::OK(); }
  } null;
  if (Status s = copy.Iterate(&null); !s.ok()) return s;
  *this = std::move(copy);
  return Status::OK();
}

}  // namespace cloudkv
