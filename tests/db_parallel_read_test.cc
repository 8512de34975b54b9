// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// Parallel object reads: MultiGet's keys that miss the block cache are read at once, and opening
// a manifest's SSTs fetches their metadata at once. The concurrency is observed through a store
// that holds each SST read until several are in flight (or a generous wait passes), so a
// sequential implementation shows a peak of one; no timing is asserted.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cloudkv/db.h"
#include "store/store_wrapper.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

// Once armed, holds GETs of SST objects until `target` are in flight at once (or 2 s passed),
// and records the peak number in flight. Other requests pass straight through.
class GatheringStore final : public ObjectStoreWrapper {
 public:
  explicit GatheringStore(std::shared_ptr<ObjectStore> base, bool remote = false)
      : ObjectStoreWrapper(std::move(base)), remote_(remote) {}
  using ObjectStore::Get;

  // remote: says it is a remote-latency store, so the engine reads ahead as on s3://.
  StoreCapabilities capabilities() const override {
    StoreCapabilities c = base()->capabilities();
    if (remote_) c.latency_class = StoreLatencyClass::kRemote;
    return c;
  }

  void Arm(int target) {
    std::lock_guard<std::mutex> lock(mu_);
    target_ = target;
    peak_ = 0;
  }
  int peak() {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override {
    if (key.find(".sst") == std::string_view::npos) return base()->Get(key, range);
    {
      std::unique_lock<std::mutex> lock(mu_);
      in_flight_++;
      peak_ = std::max(peak_, in_flight_);
      cv_.notify_all();
      // Once gathered, later reads pass straight through; a read that gives up waiting (one
      // that nothing else could join) leaves the target for the next ones.
      if (cv_.wait_for(lock, std::chrono::seconds(2), [&] { return in_flight_ >= target_; })) {
        target_ = 1;
      }
    }
    auto r = base()->Get(key, range);
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_--;
    return r;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  int peak_ = 0;
  int target_ = 1;
  const bool remote_;
};

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

Options TestOptions(std::shared_ptr<ObjectStore> store) {
  Options o;
  o.store = std::move(store);
  o.memtable_bytes = 64 * 1024;
  o.wal_flush_interval_ms = 2;
  o.block_size = 1024;
  o.read_unit_bytes = 0;  // one GET per block: every cold key is its own read
  o.disable_auto_compaction = true;
  o.prepopulate_block_cache = false;
  return o;
}

// Writes kSsts L0 SSTs of kKeysPerSst keys each (key i holds "v<i>").
constexpr int kSsts = 6;
constexpr int kKeysPerSst = 400;
void Fill(DB* db) {
  for (int s = 0; s < kSsts; s++) {
    WriteBatch batch;
    for (int i = s; i < kSsts * kKeysPerSst; i += kSsts) batch.Put(Key(i), "v" + std::to_string(i));
    ASSERT_TRUE(db->Write({}, batch).ok());
    ASSERT_TRUE(db->Flush().ok());
  }
}

TEST(ParallelReads, ColdMultiGetReadsItsKeysAtOnce) {
  auto base = NewPrivateMemoryStore("parallel-multiget");
  auto gathering = std::make_shared<GatheringStore>(base);
  {
    auto db = DB::Open("memory://parallel-multiget", TestOptions(base));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    Fill(db->get());
    ASSERT_TRUE((*db)->Close().ok());
  }
  auto db = DB::Open("memory://parallel-multiget", TestOptions(gathering));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  // Keys far apart: each is in its own data block, none cached.
  std::vector<std::string> keys;
  for (int i = 0; i < 8; i++) keys.push_back(Key(i * 293 % (kSsts * kKeysPerSst)));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  gathering->Arm(4);
  auto got = (*db)->MultiGet({}, views);
  EXPECT_GE(gathering->peak(), 4) << "MultiGet read its cold keys one after another";
  for (size_t i = 0; i < keys.size(); i++) {
    ASSERT_TRUE(got[i].ok()) << keys[i] << ": " << got[i].status().ToString();
    EXPECT_EQ(*got[i], "v" + std::to_string(std::stoi(keys[i].substr(3))));
  }
  // Now cached: the same call makes no SST read at all.
  const uint64_t gets = (*db)->GetStats().store.get;
  got = (*db)->MultiGet({}, views);
  EXPECT_EQ((*db)->GetStats().store.get, gets);
  for (const auto& r : got) EXPECT_TRUE(r.ok());
  ASSERT_TRUE((*db)->Close().ok());
}

TEST(ParallelReads, OpenFetchesTheMetadataOfItsSstsAtOnce) {
  auto base = NewPrivateMemoryStore("parallel-open");
  auto gathering = std::make_shared<GatheringStore>(base);
  {
    auto db = DB::Open("memory://parallel-open", TestOptions(base));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    Fill(db->get());
    ASSERT_TRUE((*db)->Close().ok());
  }
  gathering->Arm(kSsts);
  Options o = TestOptions(gathering);
  o.read_only = true;
  auto db = DB::Open("memory://parallel-open", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(gathering->peak(), kSsts) << "the SSTs were opened one after another";
  EXPECT_EQ(*(*db)->Get({}, Key(17)), "v17");
}

// A sequential scan on a remote-latency store keeps reads ahead in flight, and scans and seeks
// still return exactly the data (compared with a model over random seeks and runs of nexts).
TEST(ParallelReads, ScansReadAheadInTheBackgroundAndStayExact) {
  const uint64_t seed = TestSeed("ParallelReads.ScansReadAheadInTheBackgroundAndStayExact");
  Random rnd(seed);
  auto base = NewPrivateMemoryStore("parallel-scan");
  auto gathering = std::make_shared<GatheringStore>(base, /*remote=*/true);
  Options o;
  o.store = gathering;
  o.memtable_bytes = 4 << 20;
  o.wal_flush_interval_ms = 2;
  o.block_size = 1024;
  o.compression = Compression::kNone;
  o.disable_auto_compaction = true;
  o.prepopulate_block_cache = false;
  o.max_wal_puts_per_second = 0;
  std::map<std::string, std::string> model;
  {
    auto db = DB::Open("memory://parallel-scan", o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    WriteBatch batch;
    for (int i = 0; i < 12000; i++) {
      std::string v(100 + rnd.Uniform(100), static_cast<char>('a' + rnd.Uniform(26)));
      batch.Put(Key(i), v);
      model[Key(i)] = v;
    }
    ASSERT_TRUE((*db)->Write({}, batch).ok());
    ASSERT_TRUE((*db)->Flush().ok());  // one SST of ~2 MB: many read-ahead windows
    ASSERT_TRUE((*db)->Close().ok());
  }
  auto db = DB::Open("memory://parallel-scan", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  gathering->Arm(2);
  {
    auto it = (*db)->NewIterator({});
    auto m = model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      ASSERT_NE(m, model.end());
      ASSERT_EQ(it->key(), m->first);
      ASSERT_EQ(it->value(), m->second);
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(m, model.end());
  }
  EXPECT_GE(gathering->peak(), 2) << "the scan read one window at a time";
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int round = 0; round < 30; round++) {
    ReadOptions ro;
    ro.fill_cache = rnd.Uniform(2) == 0;
    auto it = (*db)->NewIterator(ro);
    const std::string target = Key(static_cast<int>(rnd.Uniform(12500)));
    it->Seek(target);
    auto m = model.lower_bound(target);
    const int nexts = static_cast<int>(rnd.Uniform(3000));
    for (int j = 0; j < nexts && m != model.end(); j++, ++m) {
      ASSERT_TRUE(it->Valid()) << target << " +" << j << ": " << it->status().ToString();
      ASSERT_EQ(it->key(), m->first);
      ASSERT_EQ(it->value(), m->second);
      it->Next();
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  }
  ASSERT_TRUE((*db)->Close().ok());
}

// MultiGet answers what Get answers, key by key, over memtables, L0 and deeper levels with
// deletions and range deletions, with a cold, a warm and no block cache.
TEST(ParallelReads, MultiGetMatchesGetOnRandomData) {
  const uint64_t seed = TestSeed("ParallelReads.MultiGetMatchesGetOnRandomData");
  Random rnd(seed);
  DropMemoryStore("parallel-model");
  Options o;
  o.memtable_bytes = 32 * 1024;
  o.wal_flush_interval_ms = 2;
  o.block_size = 512;
  o.l0_compaction_trigger = 2;
  o.block_cache_bytes = rnd.Uniform(2) == 0 ? 0 : (256 << 10);
  auto db = DB::Open("memory://parallel-model", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  std::map<std::string, std::string> model;
  constexpr int kKeySpace = 3000;
  for (int round = 0; round < 6; round++) {
    WriteBatch batch;
    for (int i = 0; i < 800; i++) {
      const std::string k = Key(static_cast<int>(rnd.Uniform(kKeySpace)));
      const uint64_t op = rnd.Uniform(10);
      if (op < 7) {
        std::string v = "r" + std::to_string(round) + "-" + std::to_string(rnd.Next64() % 1000);
        batch.Put(k, v);
        model[k] = v;
      } else if (op < 9) {
        batch.Delete(k);
        model.erase(k);
      } else {
        const std::string end = Key(std::stoi(k.substr(3)) + static_cast<int>(rnd.Uniform(20)));
        batch.DeleteRange(k, end);
        model.erase(model.lower_bound(k), model.lower_bound(end));
      }
    }
    ASSERT_TRUE((*db)->Write({}, batch).ok());
    if (round % 2 == 0) {
      ASSERT_TRUE((*db)->Flush().ok());
    }
  }
  for (int call = 0; call < 40; call++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<std::string> keys;
    const size_t n = 1 + rnd.Uniform(40);
    for (size_t i = 0; i < n; i++) keys.push_back(Key(static_cast<int>(rnd.Uniform(kKeySpace))));
    if (n > 2) keys.push_back(keys[0]);  // a key twice
    std::vector<std::string_view> views(keys.begin(), keys.end());
    auto got = (*db)->MultiGet({}, views);
    ASSERT_EQ(got.size(), keys.size());
    for (size_t i = 0; i < keys.size(); i++) {
      auto it = model.find(keys[i]);
      if (it == model.end()) {
        EXPECT_TRUE(got[i].status().IsNotFound()) << keys[i] << ": " << got[i].status().ToString();
        EXPECT_EQ(got[i].status().message(), "key not found");
      } else {
        ASSERT_TRUE(got[i].ok()) << keys[i] << " (seed " << seed
                                 << "): " << got[i].status().ToString();
        EXPECT_EQ(*got[i], it->second) << keys[i];
      }
    }
  }
  ASSERT_TRUE((*db)->Close().ok());
}

}  // namespace
}  // namespace cloudkv
