// SPDX-License-Identifier: Apache-2.0
#include "support/iterator_harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <set>

#include "format/dbformat.h"

namespace cloudkv {
namespace {

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

std::string RandomUserKey(Random* rnd, const IteratorHarnessOptions& o) {
  // A small alphabet makes shared prefixes common (exercises prefix compression); a rare
  // binary byte checks that keys are treated as bytes.
  std::string key;
  const size_t len = rnd->Range(1, o.max_user_key_bytes);
  for (size_t i = 0; i < len; i++) {
    key.push_back(rnd->OneIn(20) ? static_cast<char>(rnd->Uniform(255))
                                 : static_cast<char>('a' + rnd->Uniform(4)));
  }
  return key;
}

std::string RandomKey(Random* rnd, const IteratorHarnessOptions& o) {
  std::string key = RandomUserKey(rnd, o);
  if (o.internal_keys) {
    PutFixed64(
        &key, PackSequenceAndType(rnd->Range(1, 1000), rnd->OneIn(4) ? kTypeDeletion : kTypeValue));
  }
  return key;
}

class Checker {
 public:
  Checker(const std::vector<KeyValue>& sorted, const IteratorHarnessOptions& o, Random* rnd)
      : model_(sorted), o_(o), rnd_(rnd) {}

  bool Run(const IteratorFactory& factory) {
    std::unique_ptr<Iterator> it = factory(model_);
    if (it == nullptr) return Fail("factory returned null");
    Log("new iterator");
    pos_ = -1;
    if (!Verify(*it)) return false;
    // Full forward and backward walks.
    it->SeekToFirst();
    pos_ = model_.empty() ? -1 : 0;
    Log("SeekToFirst");
    if (!Verify(*it)) return false;
    while (it->Valid()) {
      it->Next();
      Step(+1);
      Log("Next");
      if (!Verify(*it)) return false;
    }
    it->SeekToLast();
    pos_ = static_cast<long>(model_.size()) - 1;
    Log("SeekToLast");
    if (!Verify(*it)) return false;
    while (it->Valid()) {
      it->Prev();
      Step(-1);
      Log("Prev");
      if (!Verify(*it)) return false;
    }
    // Random operations, on a fresh iterator half of the time.
    if (rnd_->OneIn(2)) {
      it = factory(model_);
      if (it == nullptr) return Fail("factory returned null");
      pos_ = -1;
      Log("new iterator");
    }
    for (int i = 0; i < o_.operations; i++) {
      if (!RandomOp(*it)) return false;
    }
    return true;
  }

 private:
  int Compare(std::string_view a, std::string_view b) const { return o_.compare(a, b); }

  void Step(int d) {
    if (pos_ < 0) return;
    pos_ += d;
    if (pos_ >= static_cast<long>(model_.size())) pos_ = -1;
  }

  std::string Target() {
    const size_t n = model_.size();
    switch (rnd_->Uniform(7)) {
      case 0:  // before the first key
        return o_.internal_keys ? MakeInternalKey("", kMaxSequenceNumber, kValueTypeForSeek)
                                : std::string();
      case 1:  // after the last key
        return o_.internal_keys ? MakeInternalKey(std::string(o_.max_user_key_bytes + 1, '\xff'), 0,
                                                  kTypeDeletion)
                                : std::string(o_.max_user_key_bytes + 1, '\xff');
      case 2:
      case 3:  // an existing key
        if (n > 0) return model_[rnd_->Uniform(n)].first;
        return RandomKey(rnd_, o_);
      case 4:  // next to an existing key
        if (n > 0) {
          std::string k = model_[rnd_->Uniform(n)].first;
          if (o_.internal_keys) {
            std::string u(ExtractUserKey(k));
            uint64_t seq = ExtractTrailer(k) >> 8;
            seq = rnd_->OneIn(2) ? seq + 1 : (seq > 0 ? seq - 1 : 0);
            return MakeInternalKey(u, seq, rnd_->OneIn(2) ? kValueTypeForSeek : kTypeDeletion);
          }
          if (rnd_->OneIn(2)) return k + '\0';
          k.pop_back();
          return k;
        }
        return RandomKey(rnd_, o_);
      default:  // a random key, usually missing
        return RandomKey(rnd_, o_);
    }
  }

  bool RandomOp(Iterator& it) {
    const uint64_t r = rnd_->Uniform(100);
    if (r < 15) {
      std::string t = Target();
      it.Seek(t);
      auto lb = std::lower_bound(
          model_.begin(), model_.end(), t,
          [&](const KeyValue& e, const std::string& k) { return Compare(e.first, k) < 0; });
      pos_ = lb == model_.end() ? -1 : lb - model_.begin();
      Log("Seek(" + Printable(t) + ")");
    } else if (r < 30) {
      std::string t = Target();
      it.SeekForPrev(t);
      auto ub = std::upper_bound(
          model_.begin(), model_.end(), t,
          [&](const std::string& k, const KeyValue& e) { return Compare(k, e.first) < 0; });
      pos_ = (ub - model_.begin()) - 1;
      Log("SeekForPrev(" + Printable(t) + ")");
    } else if (r < 35) {
      it.SeekToFirst();
      pos_ = model_.empty() ? -1 : 0;
      Log("SeekToFirst");
    } else if (r < 40) {
      it.SeekToLast();
      pos_ = static_cast<long>(model_.size()) - 1;
      Log("SeekToLast");
    } else if (r < 70) {
      if (pos_ < 0) return true;  // REQUIRES Valid()
      it.Next();
      Step(+1);
      Log("Next");
    } else {
      if (pos_ < 0) return true;
      it.Prev();
      Step(-1);
      Log("Prev");
    }
    return Verify(it);
  }

  bool Verify(const Iterator& it) {
    if (!it.status().ok()) return Fail("status " + it.status().ToString());
    const bool expect_valid = pos_ >= 0;
    if (it.Valid() != expect_valid) {
      return Fail(std::string("Valid() is ") + (it.Valid() ? "true" : "false") + ", expected " +
                  (expect_valid ? "entry " + std::to_string(pos_) + " '" +
                                      Printable(model_[pos_].first) + "'"
                                : "false"));
    }
    if (!expect_valid) return true;
    const KeyValue& e = model_[pos_];
    if (it.key() != e.first) {
      return Fail("key '" + Printable(it.key()) + "', expected '" + Printable(e.first) + "'");
    }
    if (it.value() != e.second) {
      return Fail("value of '" + Printable(e.first) + "' is '" + Printable(it.value()) +
                  "', expected '" + Printable(e.second) + "'");
    }
    return true;
  }

  void Log(std::string op) {
    history_.push_back(std::move(op));
    if (history_.size() > 12) history_.pop_front();
  }

  bool Fail(const std::string& what) {
    std::string ops;
    for (const auto& op : history_) ops += "\n  " + op;
    ADD_FAILURE() << "iterator contract violated over " << model_.size() << " entries: " << what
                  << "\nlast operations:" << ops;
    return false;
  }

  const std::vector<KeyValue>& model_;
  const IteratorHarnessOptions& o_;
  Random* rnd_;
  long pos_ = -1;
  std::deque<std::string> history_;
};

void FillDefaults(IteratorHarnessOptions* o) {
  if (!o->compare) {
    if (o->internal_keys) {
      o->compare = [](std::string_view a, std::string_view b) { return CompareInternalKeys(a, b); };
    } else {
      o->compare = BytewiseCompare;
    }
  }
}

}  // namespace

int BytewiseCompare(std::string_view a, std::string_view b) {
  const int r = a.compare(b);
  return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

std::vector<KeyValue> GenerateSortedEntries(Random* rnd, size_t n,
                                            const IteratorHarnessOptions& options) {
  IteratorHarnessOptions o = options;
  FillDefaults(&o);
  auto less = [&](const std::string& a, const std::string& b) { return o.compare(a, b) < 0; };
  std::set<std::string, decltype(less)> keys(less);
  std::set<uint64_t> used_sequences;
  size_t attempts = 0;
  while (keys.size() < n && attempts++ < 100 * n + 100) {
    if (o.internal_keys) {
      // Several versions of one user key, as an LSM holds them.
      std::string user = RandomUserKey(rnd, o);
      const int versions = static_cast<int>(rnd->Range(1, 3));
      for (int v = 0; v < versions && keys.size() < n; v++) {
        // Sequence numbers are unique, as in a database.
        uint64_t seq;
        do {
          seq = rnd->Range(1, std::max<uint64_t>(1000, 4 * n));
        } while (!used_sequences.insert(seq).second);
        keys.insert(MakeInternalKey(user, seq, rnd->OneIn(4) ? kTypeDeletion : kTypeValue));
      }
    } else {
      keys.insert(RandomUserKey(rnd, o));
    }
  }
  std::vector<KeyValue> out;
  out.reserve(keys.size());
  for (const std::string& k : keys) {
    out.emplace_back(k, rnd->Printable(rnd->Uniform(o.max_value_bytes + 1)));
  }
  return out;
}

bool CheckIteratorContract(const std::vector<KeyValue>& sorted, const IteratorFactory& factory,
                           Random* rnd, const IteratorHarnessOptions& options) {
  IteratorHarnessOptions o = options;
  FillDefaults(&o);
  Checker checker(sorted, o, rnd);
  return checker.Run(factory);
}

void RunIteratorContract(std::string_view test_name, const IteratorFactory& factory,
                         IteratorHarnessOptions options) {
  FillDefaults(&options);
  Random rnd(TestSeed(test_name));
  for (size_t n : options.sizes) {
    std::vector<KeyValue> entries = GenerateSortedEntries(&rnd, n, options);
    SCOPED_TRACE("data set of " + std::to_string(entries.size()) + " entries");
    if (!CheckIteratorContract(entries, factory, &rnd, options)) return;
  }
}

}  // namespace cloudkv
