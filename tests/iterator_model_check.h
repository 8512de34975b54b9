// SPDX-License-Identifier: Apache-2.0
// A randomized check of an Iterator against a model: a sorted vector of (key, value). Used by
// the memtable, merging and DB iterator tests until (and besides) the generic iterator
// harness. Header-only so each test program includes what it uses.
#ifndef CLOUDKV_TESTS_ITERATOR_MODEL_CHECK_H_
#define CLOUDKV_TESTS_ITERATOR_MODEL_CHECK_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cloudkv/iterator.h"
#include "format/dbformat.h"
#include "util/random.h"

namespace cloudkv {

using ModelEntries = std::vector<std::pair<std::string, std::string>>;

// Runs `steps` random operations (seeks to model keys and to random targets from
// `random_target`, SeekToFirst/Last, runs of Next/Prev with direction changes) on `it` and on
// the model, and expects identical positions, keys and values. `less` orders keys as the
// iterator does. Stops at the first mismatch (ADD_FAILURE with the operation history).
template <typename Less>
void CheckIteratorAgainstModel(Iterator* it, const ModelEntries& model, Less less, Random* rnd,
                               int steps, const std::function<std::string()>& random_target) {
  ASSERT_TRUE(std::is_sorted(model.begin(), model.end(),
                             [&](const auto& a, const auto& b) { return less(a.first, b.first); }));
  const long n = static_cast<long>(model.size());
  long pos = -1;  // index into model, -1 = invalid
  std::string history;
  auto lower = [&](const std::string& t) {
    return static_cast<long>(
        std::lower_bound(model.begin(), model.end(), t,
                         [&](const auto& e, const std::string& k) { return less(e.first, k); }) -
        model.begin());
  };
  auto upper = [&](const std::string& t) {
    return static_cast<long>(
        std::upper_bound(model.begin(), model.end(), t,
                         [&](const std::string& k, const auto& e) { return less(k, e.first); }) -
        model.begin());
  };
  auto pick_target = [&]() -> std::string {
    if (n > 0 && rnd->OneIn(2)) return model[rnd->Uniform(n)].first;
    return random_target();
  };
  for (int step = 0; step < steps; step++) {
    const uint64_t op = rnd->Uniform(10);
    if (pos >= 0 && op < 3) {
      it->Next();
      pos = pos + 1 < n ? pos + 1 : -1;
      history += "Next ";
    } else if (pos >= 0 && op < 6) {
      it->Prev();
      pos = pos - 1;
      history += "Prev ";
    } else if (op < 7) {
      std::string t = pick_target();
      it->Seek(t);
      long i = lower(t);
      pos = i < n ? i : -1;
      history += "Seek ";
    } else if (op < 8) {
      std::string t = pick_target();
      it->SeekForPrev(t);
      pos = upper(t) - 1;
      history += "SeekForPrev ";
    } else if (op < 9) {
      it->SeekToFirst();
      pos = n > 0 ? 0 : -1;
      history += "SeekToFirst ";
    } else {
      it->SeekToLast();
      pos = n - 1;
      history += "SeekToLast ";
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString() << " after " << history;
    ASSERT_EQ(it->Valid(), pos >= 0) << "after " << history;
    if (pos >= 0) {
      ASSERT_EQ(it->key(), model[pos].first) << "after " << history;
      ASSERT_EQ(it->value(), model[pos].second) << "after " << history;
    }
    if (history.size() > 2000) history.erase(0, history.size() - 1000);
  }
}

// An iterator over a sorted ModelEntries (internal keys ordered by InternalKeyLess), for feeding
// hand-made entries (including malformed keys) to the iterators under test. If fail_after >= 0,
// the iterator fails with IOError after that many Next/Prev calls and stays failed.
class VectorIterator final : public Iterator {
 public:
  explicit VectorIterator(ModelEntries entries, int fail_after = -1)
      : entries_(std::move(entries)), fail_after_(fail_after) {}

  bool Valid() const override { return !failed_ && pos_ < entries_.size(); }
  void SeekToFirst() override { pos_ = 0; }
  void SeekToLast() override { pos_ = entries_.empty() ? kInvalid : entries_.size() - 1; }
  void Seek(std::string_view target) override {
    pos_ = 0;
    while (pos_ < entries_.size() && Less(entries_[pos_].first, target)) pos_++;
  }
  void SeekForPrev(std::string_view target) override {
    pos_ = entries_.size();
    while (pos_ > 0 && Less(target, entries_[pos_ - 1].first)) pos_--;
    pos_ = pos_ == 0 ? kInvalid : pos_ - 1;
  }
  void Next() override {
    Step();
    pos_++;
  }
  void Prev() override {
    Step();
    pos_ = pos_ == 0 ? kInvalid : pos_ - 1;
  }
  std::string_view key() const override { return entries_[pos_].first; }
  std::string_view value() const override { return entries_[pos_].second; }
  Status status() const override {
    return failed_ ? Status::IOError("injected failure") : Status::OK();
  }

 private:
  static constexpr size_t kInvalid = ~size_t{0};
  // Malformed (short) keys sort by bytes so tests can place them.
  static bool Less(std::string_view a, std::string_view b) {
    if (a.size() < 8 || b.size() < 8) return a < b;
    return CompareInternalKeys(a, b) < 0;
  }
  void Step() {
    if (fail_after_ >= 0 && fail_after_-- == 0) failed_ = true;
  }

  ModelEntries entries_;
  size_t pos_ = kInvalid;
  int fail_after_;
  bool failed_ = false;
};

}  // namespace cloudkv

#endif  // CLOUDKV_TESTS_ITERATOR_MODEL_CHECK_H_
