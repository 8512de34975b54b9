// SPDX-License-Identifier: Apache-2.0
// DBIterator: the user view over an internal iterator.
//
// Moving forward, the internal iterator sits on the entry being shown (key() and value() read
// through). Moving backward, it sits just before all entries of the shown key (the newest
// visible version of a key is the last one met going backward), and the shown key and value are
// copies in saved_key_/saved_value_. Each direction change re-establishes that invariant.
//
// Every "is this entry visible" decision goes through Visible(); range tombstones enter there
// (IsCoveredByRange): a covered value counts as a point deletion of the same sequence, so the
// traversal logic is the same with or without them.
#include "db/db_iterator.h"

#include <cassert>
#include <string_view>

#include "util/coding.h"

namespace cloudkv {
namespace {

class DBIterator final : public Iterator {
 public:
  DBIterator(std::unique_ptr<Iterator> internal, SequenceNumber snapshot,
             std::optional<std::string> lower_bound, std::optional<std::string> upper_bound,
             std::vector<RangeTombstoneListPtr> range_tombstones)
      : iter_(std::move(internal)),
        snapshot_(snapshot),
        lower_(std::move(lower_bound)),
        upper_(std::move(upper_bound)) {
    assert(iter_ != nullptr);
    assert(snapshot <= kMaxSequenceNumber);
    for (auto& list : range_tombstones) {
      if (list != nullptr && !list->empty()) range_tombstones_.push_back(std::move(list));
    }
  }

  bool Valid() const override { return valid_; }

  std::string_view key() const override {
    assert(valid_);
    return direction_ == kForward ? ExtractUserKey(iter_->key()) : std::string_view(saved_key_);
  }
  std::string_view value() const override {
    assert(valid_);
    return direction_ == kForward ? iter_->value() : std::string_view(saved_value_);
  }
  Status status() const override { return status_.ok() ? iter_->status() : status_; }

  void Seek(std::string_view target) override {
    if (lower_ && target < *lower_) target = *lower_;
    if (upper_ && target >= *upper_) {
      Reset(kForward);
      return;
    }
    // Build the seek key before touching any state: target may point into it.
    seek_key_.clear();
    AppendInternalKey(&seek_key_, target, snapshot_, kValueTypeForSeek);
    Reset(kForward);
    iter_->Seek(seek_key_);
    FindNextUserEntry(/*skipping=*/false);
  }

  void SeekToFirst() override {
    if (lower_) {
      Seek(*lower_);
      return;
    }
    Reset(kForward);
    iter_->SeekToFirst();
    FindNextUserEntry(/*skipping=*/false);
  }

  void SeekToLast() override {
    Reset(kReverse);
    if (upper_) {
      // The smallest internal key of *upper_ (trailer all ones sorts first): the internal
      // iterator lands on the last entry of the keys below the bound.
      seek_key_.assign(*upper_);
      PutFixed64(&seek_key_, ~uint64_t{0});
      iter_->SeekForPrev(seek_key_);
    } else {
      iter_->SeekToLast();
    }
    FindPrevUserEntry();
  }

  void SeekForPrev(std::string_view target) override {
    if (upper_ && target >= *upper_) {
      SeekToLast();
      return;
    }
    if (lower_ && target < *lower_) {
      Reset(kReverse);
      return;
    }
    // The largest internal key of target (sequence 0, type 0): every entry of target is <= it.
    seek_key_.clear();
    AppendInternalKey(&seek_key_, target, 0, kTypeDeletion);
    Reset(kReverse);
    iter_->SeekForPrev(seek_key_);
    FindPrevUserEntry();
  }

  void Next() override {
    assert(valid_);
    if (direction_ == kReverse) {
      // The internal iterator is before the entries of saved_key_ (or off the front).
      direction_ = kForward;
      if (iter_->Valid()) {
        iter_->Next();
      } else {
        iter_->SeekToFirst();
      }
    } else {
      saved_key_.assign(ExtractUserKey(iter_->key()));
      iter_->Next();
    }
    FindNextUserEntry(/*skipping=*/true);
  }

  void Prev() override {
    assert(valid_);
    if (direction_ == kForward) {
      // Step back over every entry of the current key, including newer invisible ones.
      saved_key_.assign(ExtractUserKey(iter_->key()));
      direction_ = kReverse;
      while (true) {
        iter_->Prev();
        if (!iter_->Valid()) break;
        ParsedInternalKey ikey;
        if (!Parse(&ikey)) return;
        if (ikey.user_key < saved_key_) break;
      }
    }
    FindPrevUserEntry();
  }

 private:
  enum Direction : uint8_t { kForward, kReverse };

  void Reset(Direction direction) {
    direction_ = direction;
    valid_ = false;
    status_ = Status::OK();
  }

  bool Parse(ParsedInternalKey* ikey) {
    if (ParseInternalKey(iter_->key(), ikey)) return true;
    status_ = Status::Corruption("db iterator: malformed internal key");
    valid_ = false;
    return false;
  }

  // True if a range tombstone newer than the entry and visible at the snapshot covers it.
  // Free when there are no tombstones; else one binary search per list.
  bool IsCoveredByRange(const ParsedInternalKey& ikey) const {
    for (const RangeTombstoneListPtr& list : range_tombstones_) {
      if (list->Covers(ikey.user_key, ikey.sequence, snapshot_)) return true;
    }
    return false;
  }

  // What the entry means for its user key at the snapshot: kTypeValue (shown), kTypeDeletion
  // (hides older versions), or kTypeRangeDeletion for entries that neither show nor hide
  // anything (invisible at the snapshot, or range tombstones themselves).
  ValueType Visible(const ParsedInternalKey& ikey) const {
    if (ikey.sequence > snapshot_ || ikey.type == kTypeRangeDeletion) return kTypeRangeDeletion;
    if (ikey.type == kTypeValue && IsCoveredByRange(ikey)) return kTypeDeletion;
    return ikey.type;
  }

  // Moves forward from the internal iterator's position to the first shown entry. If
  // skipping, entries of user keys <= saved_key_ are hidden.
  void FindNextUserEntry(bool skipping) {
    assert(direction_ == kForward);
    valid_ = false;
    for (; iter_->Valid(); iter_->Next()) {
      ParsedInternalKey ikey;
      if (!Parse(&ikey)) return;
      if (upper_ && ikey.user_key >= *upper_) return;
      switch (Visible(ikey)) {
        case kTypeRangeDeletion:
          break;
        case kTypeDeletion:
          saved_key_.assign(ikey.user_key);
          skipping = true;
          break;
        case kTypeValue:
          if (skipping && ikey.user_key <= saved_key_) break;
          valid_ = true;
          return;
      }
    }
  }

  // Moves backward from the internal iterator's position (which is before every entry of the
  // current key) to the previous shown key, leaving the internal iterator before its entries.
  void FindPrevUserEntry() {
    assert(direction_ == kReverse);
    // Meaning of the newest visible entry seen so far for saved_key_; kTypeDeletion = none.
    ValueType found = kTypeDeletion;
    for (; iter_->Valid(); iter_->Prev()) {
      ParsedInternalKey ikey;
      if (!Parse(&ikey)) return;
      if (lower_ && ikey.user_key < *lower_) break;
      ValueType meaning = Visible(ikey);
      if (meaning == kTypeRangeDeletion) continue;
      if (found == kTypeValue && ikey.user_key < saved_key_) break;  // passed a shown key
      found = meaning;
      if (meaning == kTypeDeletion) {
        saved_key_.clear();
        saved_value_.clear();
      } else {
        saved_key_.assign(ikey.user_key);
        std::string_view value = iter_->value();
        saved_value_.assign(value.data(), value.size());
      }
    }
    valid_ = found == kTypeValue && (iter_->Valid() || iter_->status().ok());
  }

  const std::unique_ptr<Iterator> iter_;
  const SequenceNumber snapshot_;
  const std::optional<std::string> lower_;
  const std::optional<std::string> upper_;
  std::vector<RangeTombstoneListPtr> range_tombstones_;  // non-empty lists only

  Direction direction_ = kForward;
  bool valid_ = false;
  Status status_;            // own errors (corrupt keys); the internal iterator has its own
  std::string saved_key_;    // see the file comment
  std::string saved_value_;  // reverse direction only
  std::string seek_key_;     // scratch
};

}  // namespace

std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<Iterator> internal, SequenceNumber snapshot,
                                        std::optional<std::string> lower_bound,
                                        std::optional<std::string> upper_bound,
                                        std::vector<RangeTombstoneListPtr> range_tombstones) {
  return std::make_unique<DBIterator>(std::move(internal), snapshot, std::move(lower_bound),
                                      std::move(upper_bound), std::move(range_tombstones));
}

}  // namespace cloudkv
