// SPDX-License-Identifier: Apache-2.0
// Randomized model test: the DB against a std::map, with puts, deletes, range deletes, batches,
// snapshots, forward and reverse iteration with bounds, flushes, reopen and simulated crashes.
// Compaction runs continually (tiny SSTs and levels, L0 trigger 2) and CompactAll is a step of
// its own; snapshots are held across both.
// Prints its seed; CLOUDKV_SEED repeats a run and CLOUDKV_MODEL_STEPS makes it longer.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>

#include "cloudkv/db.h"
#include "db/db_impl.h"
#include "store/fault_injecting_store.h"
#include "store/stores.h"
#include "support/crashable_store.h"
#include "util/random.h"

namespace cloudkv {
namespace {

using Model = std::map<std::string, std::string>;

struct KeyHistory {
  // Every write, oldest first, after the initial state (absent).
  std::vector<std::optional<std::string>> values = {std::nullopt};
  size_t acked = 0;  // index of the last acknowledged write (or of the initial state)
};

class ModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string name = GetParam();
    if (name == "memory") {
      base_ = NewPrivateMemoryStore("model");
    } else if (name == "faults") {
      // Puts and deletes fail, lose their responses, or land late or never; reads are clean
      // (the model expects every read to answer).
      for (StoreOp op : {StoreOp::kPut, StoreOp::kDelete}) {
        fault_options_.For(op) = FaultRates{0.02, 0.02, 0.02};
      }
      faulty_ =
          std::make_shared<FaultInjectingStore>(NewPrivateMemoryStore("model"), fault_options_);
      base_ = faulty_;
    } else {
      dir_ =
          std::filesystem::temp_directory_path() / ("cloudkv-model-" + std::to_string(::getpid()));
      std::filesystem::remove_all(dir_);
      auto s = OpenObjectStore("file://" + dir_.string() + "?fsync=false");
      if (!s.ok()) s = OpenObjectStore("file://" + dir_.string());
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      base_ = *s;
    }
  }
  void TearDown() override {
    db_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void OpenDb() {
    crashable_ = std::make_shared<CrashableStore>(base_);
    Options o;
    o.store = crashable_;
    o.memtable_bytes = 8 * 1024 + rnd_->Uniform(32 * 1024);
    o.wal_flush_interval_ms = 1 + rnd_->Uniform(20);
    o.wal_max_bytes = 512 + rnd_->Uniform(8192);
    o.max_inflight_wal_uploads = 1 + static_cast<int>(rnd_->Uniform(4));
    o.block_size = 256 + rnd_->Uniform(2048);
    o.block_cache_bytes = rnd_->OneIn(2) ? 0 : 64 * 1024;
    o.read_unit_bytes = rnd_->OneIn(2) ? 0 : 4096;
    o.compression = static_cast<Compression>(rnd_->Uniform(3));
    o.l0_compaction_trigger = 2;
    o.target_sst_bytes = 1024 + rnd_->Uniform(8192);
    o.level1_target_bytes = 4096 + rnd_->Uniform(32 * 1024);
    o.level_size_ratio = 2 + static_cast<int>(rnd_->Uniform(4));
    o.num_levels = 3 + static_cast<int>(rnd_->Uniform(3));
    o.max_subcompactions = 1 + static_cast<int>(rnd_->Uniform(3));
    auto db = DB::Open("test://model", o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  // After a crash or reopen, every key holds its last acknowledged write or a later one.
  void ReconcileAfterRestart() {
    for (auto& [key, h] : history_) {
      auto got = db_->Get({}, key);
      ASSERT_TRUE(got.ok() || got.status().IsNotFound()) << got.status().ToString();
      std::optional<std::string> actual;
      if (got.ok()) actual = *got;
      bool allowed = false;
      for (size_t i = h.acked; i < h.values.size(); i++) allowed |= h.values[i] == actual;
      ASSERT_TRUE(allowed) << "key " << key << " lost its acknowledged write: has "
                           << actual.value_or("<absent>") << ", last acknowledged "
                           << h.values[h.acked].value_or("<absent>");
      h.values = {actual};
      h.acked = 0;
    }
    // No key that was never written appears.
    auto it = db_->NewIterator({});
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ASSERT_TRUE(history_.count(std::string(it->key()))) << it->key();
    }
    ASSERT_TRUE(it->status().ok());
  }

  Model Current() const {
    Model m;
    for (const auto& [k, h] : history_) {
      if (h.values.back()) m[k] = *h.values.back();
    }
    return m;
  }

  void MarkAllAcked() {
    for (auto& [k, h] : history_) h.acked = h.values.size() - 1;
  }

  void CheckIterator(const ReadOptions& ro, const Model& model) {
    auto it = db_->NewIterator(ro);
    auto lo = ro.lower_bound ? model.lower_bound(*ro.lower_bound) : model.begin();
    auto hi = ro.upper_bound ? model.lower_bound(*ro.upper_bound) : model.end();
    if (ro.lower_bound && ro.upper_bound && *ro.lower_bound > *ro.upper_bound) hi = lo;
    std::vector<std::pair<std::string, std::string>> expect(lo, hi);
    std::vector<std::pair<std::string, std::string>> got;
    if (rnd_->OneIn(2)) {
      for (it->SeekToFirst(); it->Valid(); it->Next()) got.emplace_back(it->key(), it->value());
    } else {
      for (it->SeekToLast(); it->Valid(); it->Prev()) got.emplace_back(it->key(), it->value());
      std::reverse(got.begin(), got.end());
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(got, expect);
    // A random seek, then a few steps forward.
    std::string target = Key();
    it->Seek(target);
    std::string from = ro.lower_bound && target < *ro.lower_bound ? *ro.lower_bound : target;
    auto m = model.lower_bound(from);
    for (int i = 0; i < 3; i++, ++m) {
      bool expect_valid = m != model.end() && (!ro.upper_bound || m->first < *ro.upper_bound);
      ASSERT_EQ(it->Valid(), expect_valid) << "after Seek(" << target << ")";
      if (!expect_valid) break;
      ASSERT_EQ(it->key(), m->first);
      ASSERT_EQ(it->value(), m->second);
      it->Next();
    }
  }

  std::string Key() { return "k" + std::to_string(rnd_->Uniform(key_space_)); }

  // A short or wide range of keys (begin <= end; sometimes empty).
  std::pair<std::string, std::string> KeyRange() {
    std::string begin = Key();
    std::string end = rnd_->OneIn(3) ? Key() : begin + std::to_string(rnd_->Uniform(10));
    if (end < begin) std::swap(begin, end);
    return {begin, end};
  }

  // Every written key in [begin, end) becomes absent.
  void RecordDeleteRange(const std::string& begin, const std::string& end) {
    for (auto it = history_.lower_bound(begin); it != history_.end() && it->first < end; ++it) {
      it->second.values.push_back(std::nullopt);
    }
  }

  void Run(int steps) {
    OpenDb();
    std::vector<std::pair<const Snapshot*, Model>> snapshots;
    for (int step = 0; step < steps; step++) {
      int op = static_cast<int>(rnd_->Uniform(100));
      if (op < 4) {  // DeleteRange, durable or not
        auto [begin, end] = KeyRange();
        bool durable = rnd_->OneIn(3);
        RecordDeleteRange(begin, end);
        Status s = db_->DeleteRange({.durable = durable}, begin, end);
        ASSERT_TRUE(s.ok()) << s.ToString();
        if (durable) MarkAllAcked();
      } else if (op < 45) {  // put or delete, durable or not
        std::string k = Key();
        bool del = rnd_->OneIn(5);
        bool durable = rnd_->OneIn(3);
        std::optional<std::string> v;
        if (!del) v = rnd_->Printable(rnd_->Uniform(300));
        history_[k].values.push_back(v);
        Status s =
            del ? db_->Delete({.durable = durable}, k) : db_->Put({.durable = durable}, k, *v);
        ASSERT_TRUE(s.ok()) << s.ToString();
        if (durable) MarkAllAcked();
      } else if (op < 55) {  // atomic batch
        WriteBatch b;
        int n = 1 + static_cast<int>(rnd_->Uniform(8));
        for (int i = 0; i < n; i++) {
          std::string k = Key();
          if (rnd_->OneIn(10)) {  // atomically with the batch's other records, in order
            auto [begin, end] = KeyRange();
            b.DeleteRange(begin, end);
            RecordDeleteRange(begin, end);
          } else if (rnd_->OneIn(4)) {
            b.Delete(k);
            history_[k].values.push_back(std::nullopt);
          } else {
            std::string v = rnd_->Printable(rnd_->Uniform(50));
            b.Put(k, v);
            history_[k].values.push_back(v);
          }
        }
        ASSERT_TRUE(db_->Write({}, b).ok());
        MarkAllAcked();
      } else if (op < 70) {  // point reads of the newest state
        ReadOptions ro;
        ro.read_unflushed = true;
        std::string k = Key();
        auto got = db_->Get(ro, k);
        auto it = history_.find(k);
        std::optional<std::string> expect;
        if (it != history_.end()) expect = it->second.values.back();
        if (expect) {
          ASSERT_TRUE(got.ok()) << k << ": " << got.status().ToString();
          ASSERT_EQ(*got, *expect);
        } else {
          ASSERT_TRUE(got.status().IsNotFound()) << k;
        }
      } else if (op < 78) {  // iteration with random bounds
        ReadOptions ro;
        ro.read_unflushed = true;
        if (rnd_->OneIn(2)) ro.lower_bound = Key();
        if (rnd_->OneIn(2)) ro.upper_bound = Key();
        CheckIterator(ro, Current());
      } else if (op < 82) {  // take a snapshot (after a durable write, so it sees the model)
        ASSERT_TRUE(db_->Put({}, "snapshot-marker", std::to_string(step)).ok());
        history_["snapshot-marker"].values.push_back(std::to_string(step));
        MarkAllAcked();
        snapshots.emplace_back(db_->GetSnapshot(), Current());
      } else if (op < 88 && !snapshots.empty()) {  // read at a snapshot, maybe release it
        size_t i = rnd_->Uniform(snapshots.size());
        ReadOptions ro;
        ro.snapshot = snapshots[i].first;
        CheckIterator(ro, snapshots[i].second);
        if (rnd_->OneIn(2)) {
          db_->ReleaseSnapshot(snapshots[i].first);
          snapshots.erase(snapshots.begin() + i);
        }
      } else if (op < 91) {
        if (faulty_ && rnd_->OneIn(2)) {
          faulty_->ApplyPending(1 + rnd_->Uniform(3), *rnd_);  // late requests land now
          continue;
        }
        if (rnd_->OneIn(3)) {
          Status s = db_->CompactAll();
          ASSERT_TRUE(s.ok()) << s.ToString();
        } else {
          ASSERT_TRUE(db_->Flush().ok());
        }
        MarkAllAcked();
      } else if (op < 95) {  // clean reopen
        for (auto& s : snapshots) db_->ReleaseSnapshot(s.first);
        snapshots.clear();
        ASSERT_TRUE(db_->Close().ok());
        MarkAllAcked();
        db_.reset();
        OpenDb();
        ReconcileAfterRestart();
      } else {  // crash: no Close, in-flight requests abandoned
        for (auto& s : snapshots) db_->ReleaseSnapshot(s.first);
        snapshots.clear();
        crashable_->Kill();
        static_cast<DBImpl*>(db_.get())->AbandonOnCloseForTest();
        db_.reset();
        if (faulty_) faulty_->Crash(rnd_->Next64());  // in-flight requests land, later or never
        OpenDb();
        ReconcileAfterRestart();
      }
      if (HasFatalFailure()) {
        ADD_FAILURE() << "at step " << step << " (seed " << rnd_->seed() << ")";
        return;
      }
    }
    for (auto& s : snapshots) db_->ReleaseSnapshot(s.first);
  }

  std::unique_ptr<Random> rnd_;
  uint64_t key_space_ = 200;
  std::shared_ptr<ObjectStore> base_;
  std::shared_ptr<CrashableStore> crashable_;
  std::shared_ptr<FaultInjectingStore> faulty_;
  FaultOptions fault_options_;
  std::filesystem::path dir_;
  std::unique_ptr<DB> db_;
  std::map<std::string, KeyHistory> history_;
};

TEST_P(ModelTest, RandomOperationsMatchStdMap) {
  rnd_ = std::make_unique<Random>(TestSeed("ModelTest." + GetParam()));
  if (faulty_) {
    fault_options_.seed = rnd_->seed();  // the faults repeat with the test's seed
    faulty_->SetOptions(fault_options_);
  }
  const char* steps_env = std::getenv("CLOUDKV_MODEL_STEPS");
  Run(steps_env ? std::atoi(steps_env) : 1500);
}

INSTANTIATE_TEST_SUITE_P(Stores, ModelTest, ::testing::Values("memory", "file", "faults"));

}  // namespace
}  // namespace cloudkv
