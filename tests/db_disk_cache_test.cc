// SPDX-License-Identifier: Apache-2.0
// The disk cache inside a DB (Options::disk_cache_dir): what flush and compaction write goes into
// it, retired SSTs leave it, and a restart with a warm cache reads without object GETs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cloudkv/db.h"
#include "store/stores.h"

namespace cloudkv {
namespace {

std::filesystem::path TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("cloudkv-dbdisk-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

std::string Key(int i) { return "key" + std::to_string(100000 + i); }
std::string Value(int i, int round) {
  return std::string(100, static_cast<char>('a' + (i + round) % 26));
}

Options CacheOptions(const std::filesystem::path& cache_dir) {
  Options o;
  o.memtable_bytes = 256 * 1024;
  o.wal_flush_interval_ms = 2;
  o.block_cache_bytes = 256 * 1024;  // far smaller than the data: reads go past it
  o.disk_cache_dir = cache_dir.string();
  o.disk_cache_bytes = 64 << 20;
  o.disable_auto_compaction = true;
  return o;
}

TEST(DBDiskCache, WrittenSstsAreCachedAndAWarmRestartMakesNoGets) {
  const auto root = TempDir("warm");
  const std::string url = "file://" + (root / "db").string();
  constexpr int kKeys = 6000;
  {
    auto db = DB::Open(url, CacheOptions(root / "cache"));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    for (int round = 0; round < 2; round++) {
      WriteBatch batch;
      for (int i = 0; i < kKeys; i++) batch.Put(Key(i), Value(i, round));
      ASSERT_TRUE((*db)->Write({}, batch).ok());
      ASSERT_TRUE((*db)->Flush().ok());
    }
    DBStats s = (*db)->GetStats();
    ASSERT_FALSE(s.level_bytes.empty());
    EXPECT_GT(s.level_bytes[0], 0u);
    EXPECT_GE(s.disk_cache_bytes_inserted, s.level_bytes[0]);  // both flushes' SSTs, whole
    const uint64_t held_before = s.disk_cache_bytes;
    // Compaction writes its output through and drops its two inputs.
    ASSERT_TRUE((*db)->CompactAll().ok());
    s = (*db)->GetStats();
    EXPECT_LT(s.disk_cache_bytes, held_before) << "retired inputs stayed in the disk cache";
    uint64_t live = 0;
    for (uint64_t b : s.level_bytes) live += b;
    EXPECT_GE(s.disk_cache_bytes, live);  // the output, whole (part files add headers)
    ASSERT_TRUE((*db)->Close().ok());
  }
  // A new process (a new DB object, cold block cache): every read is served from disk.
  auto db = DB::Open(url, CacheOptions(root / "cache"));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  const DBStats opened = (*db)->GetStats();
  for (int i = 0; i < kKeys; i += 7) {
    auto r = (*db)->Get({}, Key(i));
    ASSERT_TRUE(r.ok()) << Key(i) << ": " << r.status().ToString();
    EXPECT_EQ(*r, Value(i, 1));
  }
  auto it = (*db)->NewIterator({});
  int n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) n++;
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_EQ(n, kKeys);
  const DBStats after = (*db)->GetStats();
  EXPECT_EQ(after.store.get, opened.store.get) << "reads of cached SSTs went to the store";
  EXPECT_GT(after.disk_cache_hits, opened.disk_cache_hits);
  EXPECT_EQ(after.disk_cache_corrupt_parts_dropped, 0u);
  ASSERT_TRUE((*db)->Close().ok());
  std::filesystem::remove_all(root);
}

TEST(DBDiskCache, AnUnusableDirectoryMeansNoDiskCacheNotFailedReads) {
  const auto root = TempDir("unusable");
  std::filesystem::create_directories(root);
  const std::string blocker = (root / "a-file").string();
  {
    std::FILE* f = std::fopen(blocker.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  const std::string url = "file://" + (root / "db").string();
  Options o = CacheOptions(std::filesystem::path(blocker) / "cache");  // under a regular file
  auto db = DB::Open(url, o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  for (int i = 0; i < 500; i++) ASSERT_TRUE((*db)->Put({}, Key(i), Value(i, 0)).ok());
  ASSERT_TRUE((*db)->Flush().ok());
  for (int i = 0; i < 500; i += 13) EXPECT_EQ(*(*db)->Get({}, Key(i)), Value(i, 0));
  EXPECT_TRUE((*db)->GetStats().disk_cache_disabled);
  ASSERT_TRUE((*db)->Close().ok());
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace cloudkv
