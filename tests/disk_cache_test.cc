// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// DiskCache and PartReader: hits and slices, the byte bound under a long random workload,
// restart, corrupt / truncated / foreign part files (dropped, refetched, never served), the
// directory deleted while running, an unwritable directory, coalesced and single-flight reads.
// The randomized tests print their seed; CLOUDKV_SEED repeats a run.
#include "cache/disk_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "cache/part_reader.h"
#include "store/counting_store.h"
#include "store/stores.h"
#include "support/temp_dir.h"
#include "util/random.h"

namespace cloudkv {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kPart = 8192;

std::shared_ptr<DiskCache> OpenCache(const std::string& dir, uint64_t capacity,
                                     uint64_t part = kPart) {
  DiskCacheOptions options;
  options.dir = dir;
  options.capacity_bytes = capacity;
  options.part_bytes = part;
  auto cache = DiskCache::Open(options);
  EXPECT_TRUE(cache.ok()) << cache.status().ToString();
  return cache.ok() ? *cache : nullptr;
}

std::vector<fs::path> PartFiles(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".part") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

uint64_t FileBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) total += e.file_size();
  return total;
}

void FlipByte(const fs::path& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

TEST(DiskCache, HitsSlicesShortLastPartAndErase) {
  TempDir dir("disk-cache");
  auto cache = OpenCache(dir.path() + "/c", 1 << 20);
  Random rnd(1);
  const std::string object = rnd.Bytes(3 * kPart + 100);
  EXPECT_FALSE(cache->Lookup("s", "k", object.size(), 0, 0, 10).has_value());
  cache->InsertObject("s", "k", object);
  EXPECT_EQ(PartFiles(dir.path() + "/c").size(), 4u);
  EXPECT_EQ(cache->PartLength(object.size(), 3), 100u);
  EXPECT_EQ(cache->PartLength(object.size(), 4), 0u);
  for (uint64_t part = 0; part < 4; part++) {
    const uint64_t len = cache->PartLength(object.size(), part);
    auto whole = cache->Lookup("s", "k", object.size(), part, 0, len);
    ASSERT_TRUE(whole.has_value());
    EXPECT_EQ(*whole, object.substr(part * kPart, len));
    auto slice = cache->Lookup("s", "k", object.size(), part, len / 3, len / 2);
    ASSERT_TRUE(slice.has_value());
    EXPECT_EQ(*slice, object.substr(part * kPart + len / 3, len / 2));
  }
  // Another store id or key, or a different object size, is another object.
  EXPECT_FALSE(cache->Lookup("t", "k", object.size(), 0, 0, 10).has_value());
  EXPECT_FALSE(cache->Lookup("s", "k2", object.size(), 0, 0, 10).has_value());
  // (a part of the same name that does not match is dropped: it is not this object's)
  EXPECT_FALSE(cache->Lookup("s", "k", object.size() + 1, 0, 0, 10).has_value());
  EXPECT_EQ(cache->GetStats().corrupt_parts_dropped, 1u);
  EXPECT_FALSE(cache->Lookup("s", "k", object.size(), 0, 0, 10).has_value());
  cache->InsertObject("s", "other", object);
  cache->EraseObject("s", "k");
  EXPECT_FALSE(cache->Lookup("s", "k", object.size(), 0, 0, 10).has_value());
  EXPECT_TRUE(cache->Lookup("s", "other", object.size(), 0, 0, 10).has_value());
  const DiskCache::Stats stats = cache->GetStats();
  EXPECT_EQ(stats.entries, 4u);
  EXPECT_EQ(stats.inserts, 8u);
  EXPECT_EQ(stats.misses, 6u);
  EXPECT_EQ(stats.bytes_inserted, 2 * object.size());
  EXPECT_EQ(stats.bytes, FileBytes(dir.path() + "/c"));
  EXPECT_EQ(stats.hits, 9u);
  EXPECT_EQ(stats.corrupt_parts_dropped, 1u);
  EXPECT_FALSE(stats.disabled);
}

TEST(DiskCache, BadOptionsAreInvalidArgument) {
  DiskCacheOptions options;
  EXPECT_TRUE(DiskCache::Open(options).status().IsInvalidArgument());
  options.dir = "/tmp/x";
  options.part_bytes = 100;
  auto bad = DiskCache::Open(options);
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("part_bytes"), std::string::npos);
}

// A long random workload of inserts, lookups and erases: the files on disk never exceed the
// bound, the index matches the directory, and every hit returns the object's bytes.
TEST(DiskCache, StaysWithinItsBoundUnderARandomWorkload) {
  TempDir dir("disk-cache");
  Random rnd(TestSeed("DiskCache.StaysWithinItsBoundUnderARandomWorkload"));
  const uint64_t capacity = 20 * kPart + rnd.Uniform(10 * kPart);
  auto cache = OpenCache(dir.path(), capacity);
  std::vector<std::string> objects;
  for (int i = 0; i < 30; i++) objects.push_back(rnd.Bytes(rnd.Range(1, 5 * kPart)));
  for (int step = 0; step < 3000; step++) {
    const size_t i = rnd.Uniform(objects.size());
    const std::string key = "obj/" + std::to_string(i);
    const std::string& object = objects[i];
    const uint64_t parts = (object.size() + kPart - 1) / kPart;
    const uint64_t part = rnd.Uniform(parts);
    const uint64_t len = cache->PartLength(object.size(), part);
    switch (rnd.Uniform(10)) {
      case 0:
        cache->EraseObject("s", key);
        break;
      case 1:
        cache->InsertObject("s", key, object);
        break;
      case 2:
      case 3:
      case 4:
        cache->InsertPart("s", key, object.size(), part, object.substr(part * kPart, len));
        break;
      default: {
        const uint64_t offset = rnd.Uniform(len);
        const uint64_t length = rnd.Range(1, len - offset);
        auto got = cache->Lookup("s", key, object.size(), part, offset, length);
        if (got.has_value()) {
          ASSERT_EQ(*got, object.substr(part * kPart + offset, length));
        }
      }
    }
    ASSERT_LE(FileBytes(dir.path()), capacity) << "step " << step;
  }
  const DiskCache::Stats stats = cache->GetStats();
  EXPECT_EQ(stats.bytes, FileBytes(dir.path()));
  EXPECT_EQ(stats.entries, PartFiles(dir.path()).size());
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_GT(stats.hits, 0u);
  EXPECT_EQ(stats.corrupt_parts_dropped, 0u);
  std::printf("bound %llu: %llu hits, %llu misses, %llu evictions, %llu bytes held\n",
              static_cast<unsigned long long>(capacity),
              static_cast<unsigned long long>(stats.hits),
              static_cast<unsigned long long>(stats.misses),
              static_cast<unsigned long long>(stats.evictions),
              static_cast<unsigned long long>(stats.bytes));
}

TEST(DiskCache, RestartRebuildsTheIndexInRecencyOrder) {
  TempDir dir("disk-cache");
  Random rnd(2);
  const std::string a = rnd.Bytes(2 * kPart), b = rnd.Bytes(2 * kPart);
  uint64_t file_bytes;
  {
    auto cache = OpenCache(dir.path(), 1 << 20);
    cache->InsertObject("s", "key-a", a);
    cache->InsertObject("s", "key-b", b);
    file_bytes = cache->GetStats().bytes;
  }
  // a's parts are an hour older than b's; a leftover temp file is cleaned up at open.
  for (const fs::path& p : PartFiles(dir.path())) {
    std::ifstream in(p, std::ios::binary);
    const std::string contents((std::istreambuf_iterator<char>(in)), {});
    const bool is_a = contents.find("key-a") != std::string::npos;
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::hours(is_a ? 2 : 1));
  }
  std::ofstream(dir.path() + "/tmp-1-1.tmp") << "partial";
  {
    auto cache = OpenCache(dir.path(), 1 << 20);
    EXPECT_FALSE(fs::exists(dir.path() + "/tmp-1-1.tmp"));
    const DiskCache::Stats stats = cache->GetStats();
    EXPECT_EQ(stats.entries, 4u);
    EXPECT_EQ(stats.bytes, file_bytes);
    auto got = cache->Lookup("s", "key-a", a.size(), 1, 0, kPart);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, a.substr(kPart));
  }
  // Reopened with room for two parts only: the oldest files go at open. The hit on a's part 1
  // refreshed its mtime, so it is the newest; then one of b's (an hour old); a's part 0 (two
  // hours) and the other of b's go.
  auto small = OpenCache(dir.path(), file_bytes / 2);
  EXPECT_EQ(small->GetStats().entries, 2u);
  EXPECT_LE(FileBytes(dir.path()), file_bytes / 2);
  EXPECT_TRUE(small->Lookup("s", "key-a", a.size(), 1, 0, kPart).has_value());
  EXPECT_FALSE(small->Lookup("s", "key-a", a.size(), 0, 0, kPart).has_value());
  EXPECT_EQ(small->GetStats().hits, 1u);
}

// Corrupt bytes anywhere, a truncated or extended file, another key's part under this part's
// name: the lookup misses, the file is deleted, and the part can be cached again.
TEST(DiskCache, PartsThatDoNotVerifyAreDroppedNeverServed) {
  TempDir dir("disk-cache");
  Random rnd(TestSeed("DiskCache.PartsThatDoNotVerifyAreDroppedNeverServed"));
  auto cache = OpenCache(dir.path(), 1 << 20);
  const std::string object = rnd.Bytes(kPart);
  const std::string other = rnd.Bytes(kPart);
  uint64_t dropped = 0;
  for (int trial = 0; trial < 60; trial++) {
    cache->InsertObject("s", "k", object);
    const fs::path path = PartFiles(dir.path()).at(0);
    const uint64_t size = fs::file_size(path);
    switch (trial % 4) {
      case 0:
        FlipByte(path, rnd.Uniform(size));
        break;
      case 1:
        fs::resize_file(path, rnd.Uniform(size));
        break;
      case 2:
        fs::resize_file(path, size + 1 + rnd.Uniform(10));
        break;
      case 3: {
        // A valid part file of another object, moved over this part's name.
        TempDir other_dir("disk-cache-other");
        auto other_cache = OpenCache(other_dir.path(), 1 << 20);
        other_cache->InsertObject("s", "x", other);
        fs::rename(PartFiles(other_dir.path()).at(0), path);
        break;
      }
    }
    EXPECT_FALSE(cache->Lookup("s", "k", object.size(), 0, 0, kPart).has_value()) << trial;
    EXPECT_FALSE(fs::exists(path)) << trial;
    dropped++;
    EXPECT_EQ(cache->GetStats().corrupt_parts_dropped, dropped);
    EXPECT_EQ(cache->GetStats().entries, 0u);
  }
  cache->InsertObject("s", "k", object);
  auto got = cache->Lookup("s", "k", object.size(), 0, 0, kPart);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, object);
}

TEST(DiskCache, FilesOrTheDirectoryDeletedWhileRunning) {
  TempDir dir("disk-cache");
  Random rnd(3);
  auto cache = OpenCache(dir.path() + "/c", 1 << 20);
  const std::string object = rnd.Bytes(3 * kPart);
  cache->InsertObject("s", "k", object);
  fs::remove(PartFiles(dir.path() + "/c").at(1));
  int hits = 0;
  for (uint64_t p = 0; p < 3; p++)
    hits += cache->Lookup("s", "k", object.size(), p, 0, kPart) ? 1 : 0;
  EXPECT_EQ(hits, 2);
  EXPECT_EQ(cache->GetStats().entries, 2u);
  fs::remove_all(dir.path() + "/c");
  EXPECT_FALSE(cache->Lookup("s", "k", object.size(), 0, 0, kPart).has_value());
  // Writing again makes the directory again.
  cache->InsertObject("s", "k2", object);
  EXPECT_TRUE(cache->Lookup("s", "k2", object.size(), 2, 0, kPart).has_value());
  EXPECT_FALSE(cache->GetStats().disabled);
  EXPECT_EQ(cache->GetStats().write_errors, 0u);
}

// A directory that cannot be made (below a regular file: even root cannot) gives a disabled
// cache; reads through it still succeed from the store.
TEST(DiskCache, UnwritableDirectoryDegradesToNoCache) {
  TempDir dir("disk-cache");
  std::ofstream(dir.path() + "/file") << "x";
  auto cache = OpenCache(dir.path() + "/file/sub", 1 << 20);
  ASSERT_NE(cache, nullptr);
  EXPECT_TRUE(cache->GetStats().disabled);
  EXPECT_EQ(cache->GetStats().write_errors, 1u);
  auto store = NewPrivateMemoryStore("disk_cache_test");
  Random rnd(4);
  const std::string object = rnd.Bytes(3 * kPart + 7);
  ASSERT_TRUE(store->Put("obj", object).ok());
  PartReader reader(store, "obj", object.size(), cache);
  auto got = reader.ReadRange(10, object.size());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, object.substr(10));
  // Disabled: the reader fetched exactly the range asked for.
  EXPECT_EQ(reader.bytes_read(), object.size() - 10);
}

// A directory that turns unwritable while running: the first failed write disables the cache
// (one error), reads go on from the store.
TEST(DiskCache, WriteFailureWhileRunningDisablesTheCache) {
  TempDir dir("disk-cache");
  auto cache = OpenCache(dir.path() + "/c", 1 << 20);
  Random rnd(5);
  const std::string object = rnd.Bytes(2 * kPart);
  fs::remove_all(dir.path() + "/c");
  std::ofstream(dir.path() + "/c") << "now a file";
  cache->InsertObject("s", "k", object);
  EXPECT_TRUE(cache->GetStats().disabled);
  EXPECT_EQ(cache->GetStats().write_errors, 1u);
  EXPECT_EQ(cache->GetStats().entries, 0u);
  EXPECT_FALSE(cache->Lookup("s", "k", object.size(), 0, 0, kPart).has_value());
}

class PartReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = NewPrivateMemoryStore("part_reader_test");
    store_ = std::make_shared<CountingStore>(base_);
    Random rnd(6);
    object_ = rnd.Bytes(6 * kPart + 123);
    ASSERT_TRUE(base_->Put("obj", object_).ok());
  }
  uint64_t Gets() const { return store_->Snapshot().Requests(StoreOp::kGet); }

  TempDir dir_{"part-reader"};
  std::shared_ptr<ObjectStore> base_;
  std::shared_ptr<CountingStore> store_;
  std::string object_;
};

TEST_F(PartReaderTest, CoalescesAdjacentMissingPartsIntoOneGet) {
  auto cache = OpenCache(dir_.path(), 1 << 20);
  PartReader reader(store_, "obj", object_.size(), cache);
  // Part 2 only: one GET of the whole part.
  auto got = reader.ReadRange(2 * kPart + 5, 2 * kPart + 10);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, object_.substr(2 * kPart + 5, 5));
  EXPECT_EQ(Gets(), 1u);
  EXPECT_EQ(reader.bytes_read(), kPart);
  // Parts 0..6 with 2 cached: two GETs (0..1 and 3..6, the last one short).
  got = reader.ReadRange(1, object_.size());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, object_.substr(1));
  EXPECT_EQ(Gets(), 3u);
  EXPECT_EQ(reader.object_reads(), 3u);
  EXPECT_EQ(reader.bytes_read(), object_.size());
  // All cached now.
  got = reader.ReadRange(0, object_.size());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, object_);
  EXPECT_EQ(Gets(), 3u);
}

TEST_F(PartReaderTest, WithoutADiskCacheReadsExactlyTheRange) {
  PartReader reader(store_, "obj", object_.size(), nullptr);
  auto got = reader.ReadRange(100, 300);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, object_.substr(100, 200));
  EXPECT_EQ(reader.bytes_read(), 200u);
  EXPECT_EQ(Gets(), 1u);
}

TEST_F(PartReaderTest, FetchErrorsAreReturnedAndNotCached) {
  auto cache = OpenCache(dir_.path(), 1 << 20);
  PartReader reader(store_, "obj", object_.size() + 1, cache);  // the size is wrong
  auto got = reader.ReadRange(0, 10);
  EXPECT_TRUE(got.status().IsCorruption()) << got.status().ToString();
  EXPECT_NE(got.status().message().find("obj"), std::string::npos);
  EXPECT_EQ(cache->GetStats().entries, 0u);
  PartReader missing(store_, "nothing", 100, cache);
  EXPECT_TRUE(missing.ReadRange(0, 10).status().IsNotFound());
  ASSERT_TRUE(base_->Put("nothing", std::string(100, 'n')).ok());
  auto now = missing.ReadRange(0, 10);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(*now, std::string(10, 'n'));
}

// Many threads read the same cold parts at once: one GET per part, every result right. With
// the disk cache this is exact whatever the interleaving (a fetch writes the cache before its
// flight leaves the table).
TEST_F(PartReaderTest, ManyThreadsReadingColdPartsMakeOneGetPerPart) {
  auto cache = OpenCache(dir_.path(), 1 << 20);
  auto reader = std::make_shared<PartReader>(store_, "obj", object_.size(), cache);
  constexpr int kThreads = 16;
  std::atomic<int> ready{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Random rnd(100 + t);
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < 50; i++) {
        const uint64_t begin = rnd.Uniform(object_.size());
        const uint64_t end =
            begin + rnd.Range(1, std::min<uint64_t>(3 * kPart, object_.size() - begin));
        auto got = reader->ReadRange(begin, end);
        if (!got.ok() || *got != object_.substr(begin, end - begin)) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Coalescing may fetch several parts with one GET, never one part twice.
  EXPECT_LE(Gets(), 7u);
  EXPECT_EQ(store_->Snapshot().get_bytes, object_.size());
  EXPECT_EQ(reader->bytes_read(), object_.size());
}

}  // namespace
}  // namespace cloudkv
