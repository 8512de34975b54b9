// SPDX-License-Identifier: Apache-2.0
// A read-only open loads one manifest, never reloads it and holds no lease (issue #16, part 3).
// Once the writer's GC deletes the SSTs newer manifests replaced, a read of such an SST must
// fail with an error that names the object and says to reopen: never NotFound (a caller takes
// that for a missing key) and never other data.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cloudkv/clock.h"
#include "cloudkv/db.h"
#include "store/stores.h"
#include "support/temp_dir.h"

namespace cloudkv {
namespace {

constexpr uint64_t kMinAgeMs = 2000;
constexpr uint64_t kSkewMs = 100;
constexpr int kKeys = 2000;

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

class ReadOnlyGcTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "file") {
      dir_ = std::make_unique<TempDir>("read-only");
      url_ = "file://" + dir_->path();
    } else {
      url_ = "memory://read-only-gc";
      DropMemoryStore("read-only-gc");
    }
  }
  void TearDown() override {
    if (GetParam() != "file") DropMemoryStore("read-only-gc");
  }

  Options Common() {
    Options o;
    o.clock = clock_;
    o.block_cache_bytes = 0;  // every block read goes to the store
    o.gc_min_age_ms = kMinAgeMs;
    o.max_clock_skew_ms = kSkewMs;
    o.history_retention_ms = 0;
    o.gc_interval_ms = 0;
    o.memtable_max_age_ms = 1000ull * 3600 * 1000;
    o.disable_auto_compaction = true;
    return o;
  }

  std::vector<std::string> ListSsts() {
    std::vector<std::string> keys;
    auto store = OpenObjectStore(url_);
    EXPECT_TRUE(store.ok());
    if (!store.ok()) return keys;
    auto listed = (*store)->List("sst/", "", 1000);
    EXPECT_TRUE(listed.ok());
    if (listed.ok()) {
      for (const auto& o : listed->objects) keys.push_back(o.key);
    }
    return keys;
  }

  void WriteAll(DB* db, const std::string& value) {
    for (int i = 0; i < kKeys; i++) {
      WriteBatch b;
      b.Put(Key(i), value + std::string(200, 'x'));
      ASSERT_TRUE(db->Write({}, b).ok());
    }
    ASSERT_TRUE(db->Flush().ok());
  }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::unique_ptr<TempDir> dir_;
  std::string url_;
};

TEST_P(ReadOnlyGcTest, ReadOfAnSstGcDeletedSaysReopen) {
  auto writer = DB::Open(url_, Common());
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  WriteAll(writer->get(), "old");

  Options ro = Common();
  ro.read_only = true;
  auto view = DB::Open(url_, ro);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_EQ((*view)->Get({}, Key(7)).value_or("<error>").substr(0, 3), "old");
  const std::vector<std::string> viewed = ListSsts();
  ASSERT_FALSE(viewed.empty());

  // The writer replaces every key and compacts: the view's SST is in no retained manifest once
  // the clock is past the GC window, and GC deletes it.
  WriteAll(writer->get(), "new");
  ASSERT_TRUE((*writer)->CompactAll().ok());
  clock_->Advance(10 * (kMinAgeMs + kSkewMs) * 1000);
  ASSERT_TRUE((*writer)->CollectGarbage().ok());
  for (const std::string& key : ListSsts()) {
    ASSERT_EQ(std::count(viewed.begin(), viewed.end(), key), 0) << "GC left " << key;
  }

  for (int i : {7, 1500}) {
    auto got = (*view)->Get({}, Key(i));
    ASSERT_FALSE(got.ok()) << "read-only view returned " << got.value().substr(0, 3);
    EXPECT_TRUE(got.status().IsIOError()) << got.status().ToString();
    EXPECT_NE(got.status().ToString().find("sst/"), std::string::npos) << got.status().ToString();
    EXPECT_NE(got.status().ToString().find("reopen"), std::string::npos) << got.status().ToString();
  }
  auto it = (*view)->NewIterator({});
  int seen = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) seen++;
  EXPECT_TRUE(it->status().IsIOError()) << it->status().ToString() << " after " << seen;
  EXPECT_LT(seen, kKeys);

  // Reopened, the view reads the current state.
  view->reset();
  auto fresh = DB::Open(url_, ro);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ((*fresh)->Get({}, Key(7)).value_or("<error>").substr(0, 3), "new");
}

TEST_P(ReadOnlyGcTest, WriterMissingSstIsCorruptionNotNotFound) {
  auto writer = DB::Open(url_, Common());
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  WriteAll(writer->get(), "old");
  auto store = OpenObjectStore(url_);
  ASSERT_TRUE(store.ok());
  const std::vector<std::string> ssts = ListSsts();
  ASSERT_FALSE(ssts.empty());
  for (const auto& key : ssts) ASSERT_TRUE((*store)->Delete(key).ok());
  auto got = (*writer)->Get({}, Key(7));
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.status().IsCorruption()) << got.status().ToString();
  EXPECT_NE(got.status().ToString().find("sst/"), std::string::npos) << got.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Stores, ReadOnlyGcTest, ::testing::Values("memory", "file"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cloudkv
