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
  explicit GatheringStore(std::shared_ptr<ObjectStore> base)
      : ObjectStoreWrapper(std::move(base)) {}
  using ObjectStore::Get;

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
      cv_.wait_for(lock, std::chrono::seconds(2), [&] { return in_flight_ >= target_; });
      target_ = 1;  // gathered once (or gave up): later reads pass straight through
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
