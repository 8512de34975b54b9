// SPDX-License-Identifier: Apache-2.0
// The shared iterator-contract harness (tests/support/iterator_harness.h) over the memtable,
// merging, level and DB iterators, also with range tombstones (block and SST iterators run it
// in block_test.cc and sst_test.cc).
#include <gtest/gtest.h>

#include "cloudkv/db.h"
#include "db/compaction.h"
#include "db/level_iterator.h"
#include "db/memtable.h"
#include "db/merging_iterator.h"
#include "format/sst_builder.h"
#include "store/stores.h"
#include "support/iterator_harness.h"

namespace cloudkv {
namespace {

void AddAll(const std::vector<KeyValue>& sorted, size_t stride, size_t offset, MemTable* mem) {
  for (size_t i = offset; i < sorted.size(); i += stride) {
    ParsedInternalKey p;
    ASSERT_TRUE(ParseInternalKey(sorted[i].first, &p));
    mem->Add(p.sequence, p.type, p.user_key, sorted[i].second);
  }
}

TEST(IteratorContract, MemTable) {
  IteratorHarnessOptions options;
  options.internal_keys = true;
  RunIteratorContract(
      "IteratorContract.MemTable",
      [](const std::vector<KeyValue>& sorted) {
        auto mem = std::make_shared<MemTable>();
        AddAll(sorted, 1, 0, mem.get());
        return mem->NewIterator();  // keeps the memtable alive
      },
      options);
}

TEST(IteratorContract, MergingIterator) {
  IteratorHarnessOptions options;
  options.internal_keys = true;
  RunIteratorContract(
      "IteratorContract.MergingIterator",
      [](const std::vector<KeyValue>& sorted) {
        std::vector<std::unique_ptr<Iterator>> children;
        for (size_t c = 0; c < 3; c++) {
          auto mem = std::make_shared<MemTable>();
          AddAll(sorted, 3, c, mem.get());
          children.push_back(mem->NewIterator());
        }
        return NewMergingIterator(std::move(children));
      },
      options);
}

// A level: the entries split into SSTs of 1..20 entries, never between versions of one user key.
TEST(IteratorContract, LevelIterator) {
  IteratorHarnessOptions options;
  options.internal_keys = true;
  options.sizes = {0, 1, 2, 5, 40, 300};
  auto store = NewPrivateMemoryStore("level_iterator_contract");
  Random rnd(TestSeed("IteratorContract.LevelIterator.split"));
  RunIteratorContract(
      "IteratorContract.LevelIterator",
      [&](const std::vector<KeyValue>& sorted) {
        std::vector<std::shared_ptr<SstFile>> files;
        size_t i = 0;
        while (i < sorted.size()) {
          SstBuilder builder(SstBuilderOptions{.block_size = 128}, 1, rnd.Next64(), 1);
          size_t want = 1 + rnd.Uniform(20);
          size_t n = 0;
          while (i < sorted.size() && (n < want || ExtractUserKey(sorted[i].first) ==
                                                       ExtractUserKey(sorted[i - 1].first))) {
            builder.Add(sorted[i].first, sorted[i].second);
            i++;
            n++;
          }
          SstProperties props;
          auto bytes = builder.Finish(&props);
          EXPECT_TRUE(bytes.ok());
          std::string key = NewSstObjectKey(1, &rnd);
          EXPECT_TRUE(store->Put(key, *bytes).ok());
          auto reader = SstReader::Open(store, key, bytes->size(), SstReadOptions{});
          EXPECT_TRUE(reader.ok());
          files.push_back(std::make_shared<SstFile>(
              SstFile{MakeSstMeta(key, props, bytes->size(), 1), *reader}));
        }
        return NewLevelIterator(std::move(files));
      },
      options);
}

// A DB iterator that owns its DB (the DB must outlive the iterator).
class OwningIterator final : public Iterator {
 public:
  OwningIterator(std::unique_ptr<DB> db, std::unique_ptr<Iterator> it)
      : db_(std::move(db)), it_(std::move(it)) {}
  ~OwningIterator() override { it_.reset(); }
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(std::string_view t) override { it_->Seek(t); }
  void SeekForPrev(std::string_view t) override { it_->SeekForPrev(t); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return it_->key(); }
  std::string_view value() const override { return it_->value(); }
  Status status() const override { return it_->status(); }

 private:
  std::unique_ptr<DB> db_;
  std::unique_ptr<Iterator> it_;
};

TEST(IteratorContract, DBIteratorOverMemtableAndSsts) {
  IteratorHarnessOptions options;
  options.sizes = {0, 1, 2, 5, 40, 300};
  options.operations = 300;
  RunIteratorContract(
      "IteratorContract.DBIterator",
      [](const std::vector<KeyValue>& sorted) -> std::unique_ptr<Iterator> {
        Options o;
        o.store = NewPrivateMemoryStore("contract");
        o.block_size = 256;  // many blocks
        auto db = DB::Open("memory://contract", o);
        if (!db.ok()) return nullptr;
        // Half the entries go to an SST, with stale versions and deletions of others shadowed.
        WriteBatch first;
        for (size_t i = 0; i < sorted.size(); i++) {
          if (i % 2 == 0) first.Put(sorted[i].first, sorted[i].second);
          if (i % 3 == 0) first.Put(sorted[i].first + "~gone", "x");
        }
        if (!(*db)->Write({}, first).ok() || !(*db)->Flush().ok()) return nullptr;
        WriteBatch second;
        for (size_t i = 0; i < sorted.size(); i++) {
          if (i % 2 == 1) second.Put(sorted[i].first, sorted[i].second);
          if (i % 3 == 0) second.Delete(sorted[i].first + "~gone");
        }
        if (!(*db)->Write({}, second).ok()) return nullptr;
        auto it = (*db)->NewIterator({});
        return std::make_unique<OwningIterator>(std::move(db).value(), std::move(it));
      },
      options);
}

// The same with range tombstones present: a wide one older than every key (hides nothing),
// and narrow ones between consecutive expected keys hiding extra keys, with tombstones and the
// keys they hide split between an SST and the memtable in both directions.
TEST(IteratorContract, DBIteratorWithRangeTombstones) {
  IteratorHarnessOptions options;
  options.sizes = {0, 1, 2, 5, 40, 300};
  options.operations = 300;
  RunIteratorContract(
      "IteratorContract.DBIteratorWithRangeTombstones",
      [](const std::vector<KeyValue>& sorted) -> std::unique_ptr<Iterator> {
        Options o;
        o.store = NewPrivateMemoryStore("contract-rangedel");
        o.block_size = 256;
        auto db = DB::Open("memory://contract-rangedel", o);
        if (!db.ok()) return nullptr;
        // Gap i is [sorted[i] + "\0", next expected key): no expected key lies inside it.
        auto gap_end = [&](size_t i) {
          return i + 1 < sorted.size() ? sorted[i + 1].first : sorted[i].first + '\x01';
        };
        auto hidden = [&](size_t i) { return sorted[i].first + std::string("\0gone", 5); };
        auto usable = [&](size_t i) { return hidden(i) < gap_end(i); };
        WriteBatch old;
        old.DeleteRange("", std::string(4, '\xff'));
        for (size_t i = 0; i < sorted.size(); i++) {
          if (i % 3 != 2 && usable(i)) old.Put(hidden(i), "x");
        }
        WriteBatch first;
        for (size_t i = 0; i < sorted.size(); i++) {
          if (i % 2 == 0) first.Put(sorted[i].first, sorted[i].second);
          if (i % 3 == 0 && usable(i)) first.DeleteRange(sorted[i].first + '\0', gap_end(i));
        }
        if (!(*db)->Write({}, old).ok() || !(*db)->Write({}, first).ok() || !(*db)->Flush().ok()) {
          return nullptr;
        }
        WriteBatch second;
        for (size_t i = 0; i < sorted.size(); i++) {
          if (i % 2 == 1) second.Put(sorted[i].first, sorted[i].second);
          if (i % 3 == 1 && usable(i)) second.DeleteRange(sorted[i].first + '\0', gap_end(i));
          if (i % 3 == 2 && usable(i)) second.Put(hidden(i), "x");
        }
        WriteBatch third;  // deletes the hidden keys written just before, in the memtable
        for (size_t i = 2; i < sorted.size(); i += 3) {
          if (usable(i)) third.DeleteRange(hidden(i), gap_end(i));
        }
        if (!(*db)->Write({}, second).ok() || !(*db)->Write({}, third).ok()) return nullptr;
        auto it = (*db)->NewIterator({});
        return std::make_unique<OwningIterator>(std::move(db).value(), std::move(it));
      },
      options);
}

}  // namespace
}  // namespace cloudkv
