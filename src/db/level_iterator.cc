// SPDX-License-Identifier: Apache-2.0
#include "db/level_iterator.h"

#include <algorithm>
#include <cassert>

#include "format/dbformat.h"

namespace cloudkv {
namespace {

class LevelIterator final : public Iterator {
 public:
  LevelIterator(std::vector<std::shared_ptr<SstFile>> files, bool fill_cache,
                size_t scan_readahead_bytes)
      : files_(std::move(files)),
        fill_cache_(fill_cache),
        scan_readahead_bytes_(scan_readahead_bytes) {}

  bool Valid() const override { return file_ && file_->Valid(); }
  void SeekToFirst() override {
    Open(0);
    if (file_) file_->SeekToFirst();
    SkipEmptyForward();
  }
  void SeekToLast() override {
    Open(files_.empty() ? kNone : files_.size() - 1);
    if (file_) file_->SeekToLast();
    SkipEmptyBackward();
  }
  void Seek(std::string_view target) override {
    // The first SST whose largest key >= target holds the first entry >= target, if any.
    auto it = std::lower_bound(files_.begin(), files_.end(), target,
                               [](const std::shared_ptr<SstFile>& f, std::string_view t) {
                                 return CompareInternalKeys(f->meta.largest_key(), t) < 0;
                               });
    Open(it == files_.end() ? kNone : static_cast<size_t>(it - files_.begin()));
    if (file_) file_->Seek(target);
    SkipEmptyForward();
  }
  void SeekForPrev(std::string_view target) override {
    // The last SST whose smallest key <= target holds the last entry <= target, if any.
    auto it = std::upper_bound(files_.begin(), files_.end(), target,
                               [](std::string_view t, const std::shared_ptr<SstFile>& f) {
                                 return CompareInternalKeys(t, f->meta.smallest_key()) < 0;
                               });
    Open(it == files_.begin() ? kNone : static_cast<size_t>(it - files_.begin()) - 1);
    if (file_) file_->SeekForPrev(target);
    SkipEmptyBackward();
  }
  void Next() override {
    assert(Valid());
    file_->Next();
    SkipEmptyForward();
  }
  void Prev() override {
    assert(Valid());
    file_->Prev();
    SkipEmptyBackward();
  }
  std::string_view key() const override { return file_->key(); }
  std::string_view value() const override { return file_->value(); }
  Status status() const override { return file_ ? file_->status() : Status::OK(); }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  void Open(size_t index) {
    if (index == kNone || index >= files_.size()) {
      file_.reset();
      index_ = kNone;
      return;
    }
    if (index_ == index && file_) return;
    index_ = index;
    file_ = files_[index]->reader->NewIterator(fill_cache_, scan_readahead_bytes_);
  }
  // Moves on to the next SST while the current one is exhausted without error.
  void SkipEmptyForward() {
    while (file_ && !file_->Valid() && file_->status().ok()) {
      if (index_ + 1 >= files_.size()) {
        file_.reset();
        index_ = kNone;
        return;
      }
      Open(index_ + 1);
      file_->SeekToFirst();
    }
  }
  void SkipEmptyBackward() {
    while (file_ && !file_->Valid() && file_->status().ok()) {
      if (index_ == 0) {
        file_.reset();
        index_ = kNone;
        return;
      }
      Open(index_ - 1);
      file_->SeekToLast();
    }
  }

  const std::vector<std::shared_ptr<SstFile>> files_;
  const bool fill_cache_;
  const size_t scan_readahead_bytes_;
  size_t index_ = kNone;
  std::unique_ptr<Iterator> file_;
};

}  // namespace

std::unique_ptr<Iterator> NewLevelIterator(std::vector<std::shared_ptr<SstFile>> files,
                                           bool fill_cache, size_t scan_readahead_bytes) {
  return std::make_unique<LevelIterator>(std::move(files), fill_cache, scan_readahead_bytes);
}

}  // namespace cloudkv
