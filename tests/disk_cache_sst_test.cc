// SPDX-License-Identifier: Apache-2.0
// SstReader through the disk cache over a real file:// store: a randomized model test with
// cache files deleted, corrupted and truncated and the cache reopened (every answer matches the
// model), a warm restart that reads with zero object GETs, write-through, and many threads
// reading a cold SST with one GET per part. Prints its seed; CLOUDKV_SEED repeats a run and
// CLOUDKV_MODEL_STEPS makes it longer.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "cache/disk_cache.h"
#include "format/dbformat.h"
#include "format/sst_builder.h"
#include "format/sst_reader.h"
#include "store/counting_store.h"
#include "store/stores.h"
#include "support/temp_dir.h"
#include "util/random.h"

namespace cloudkv {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kPart = 16 * 1024;

struct TestSst {
  std::string key;
  std::string bytes;
  std::map<std::string, std::string> model;  // user key -> value
};

TestSst MakeSst(Random* rnd, const std::string& key, int entries) {
  TestSst sst;
  sst.key = key;
  for (int i = 0; i < entries; i++) {
    sst.model[fmt::format("user{:08d}", rnd->Uniform(1000000))] = rnd->Bytes(rnd->Range(1, 200));
  }
  SstBuilderOptions options;
  options.block_size = 1024;
  options.compression = Compression::kNone;  // so the file is large and spans many parts
  SstBuilder builder(options, /*epoch=*/1, /*nonce=*/rnd->Next64(), /*create_time_micros=*/1);
  for (const auto& [k, v] : sst.model) builder.Add(MakeInternalKey(k, 1, kTypeValue), v);
  auto bytes = builder.Finish(nullptr);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  sst.bytes = bytes.ok() ? *bytes : std::string();
  return sst;
}

std::shared_ptr<DiskCache> OpenCache(const std::string& dir, uint64_t capacity) {
  DiskCacheOptions options;
  options.dir = dir;
  options.capacity_bytes = capacity;
  options.part_bytes = kPart;
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

class DiskCacheSstTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::map<std::string, std::string> params;
    auto local = NewLocalStore(store_dir_.path(), &params);
    ASSERT_TRUE(local.ok()) << local.status().ToString();
    store_ = std::make_shared<CountingStore>(*local);
  }
  void PutSst(const TestSst& sst) { ASSERT_TRUE(store_->Put(sst.key, sst.bytes).ok()); }
  std::shared_ptr<SstReader> Open(const TestSst& sst, std::shared_ptr<DiskCache> cache,
                                  size_t read_unit_bytes = 4096) {
    SstReadOptions options;
    options.disk_cache = std::move(cache);
    options.read_unit_bytes = read_unit_bytes;
    options.open_tail_bytes = 4096;
    auto reader = SstReader::Open(store_, sst.key, sst.bytes.size(), options);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? *reader : nullptr;
  }
  uint64_t Gets() const { return store_->Snapshot().Requests(StoreOp::kGet); }

  // Every key's value and a full scan, checked against the model.
  static void CheckAll(SstReader* reader, const TestSst& sst) {
    for (const auto& [k, v] : sst.model) {
      LookupResult result;
      ASSERT_TRUE(reader->Get(k, kMaxSequenceNumber, &result).ok());
      ASSERT_EQ(result.state, LookupState::kFound) << k;
      ASSERT_EQ(result.value, v) << k;
    }
    auto it = reader->NewIterator();
    auto m = sst.model.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
      ASSERT_NE(m, sst.model.end());
      ParsedInternalKey parsed;
      ASSERT_TRUE(ParseInternalKey(it->key(), &parsed));
      ASSERT_EQ(parsed.user_key, m->first);
      ASSERT_EQ(it->value(), m->second);
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_EQ(m, sst.model.end());
  }

  TempDir store_dir_{"disk-cache-sst-store"};
  TempDir cache_dir_{"disk-cache-sst-cache"};
  std::shared_ptr<CountingStore> store_;
};

TEST_F(DiskCacheSstTest, RandomReadsWithCacheFilesDeletedAndCorrupted) {
  Random rnd(TestSeed("DiskCacheSstTest.RandomReadsWithCacheFilesDeletedAndCorrupted"));
  const char* steps_env = std::getenv("CLOUDKV_MODEL_STEPS");
  const int steps = steps_env != nullptr ? std::atoi(steps_env) : 300;
  std::vector<TestSst> ssts;
  for (int i = 0; i < 3; i++) {
    ssts.push_back(MakeSst(&rnd, "sst/" + std::to_string(i) + ".sst", 300 + 300 * i));
    PutSst(ssts.back());
  }
  // Room for about half of the parts, so eviction runs too.
  uint64_t total = 0;
  for (const TestSst& s : ssts) total += s.bytes.size();
  auto cache = OpenCache(cache_dir_.path(), total / 2);
  std::vector<std::shared_ptr<SstReader>> readers(ssts.size());
  int corrupted = 0;
  uint64_t dropped = 0;
  for (int step = 0; step < steps; step++) {
    SCOPED_TRACE("step " + std::to_string(step));
    const size_t i = rnd.Uniform(ssts.size());
    const TestSst& sst = ssts[i];
    std::vector<fs::path> files = PartFiles(cache_dir_.path());
    switch (rnd.Uniform(12)) {
      case 0:  // a new reader (no block cache: every block read goes to the part reader)
        readers[i] = Open(sst, cache, rnd.OneIn(2) ? 0 : 4096);
        ASSERT_NE(readers[i], nullptr);
        break;
      case 1:
        if (!files.empty()) fs::remove(files[rnd.Uniform(files.size())]);
        break;
      case 2:
      case 3:
        if (!files.empty()) {
          const fs::path& path = files[rnd.Uniform(files.size())];
          std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
          const uint64_t offset = rnd.Uniform(fs::file_size(path));
          f.seekp(static_cast<std::streamoff>(offset));
          f.put(static_cast<char>(rnd.Next32()));  // may leave it unchanged: also fine
          corrupted++;
        }
        break;
      case 4:
        if (!files.empty()) {
          const fs::path& path = files[rnd.Uniform(files.size())];
          fs::resize_file(path, rnd.Uniform(fs::file_size(path)));
          corrupted++;
        }
        break;
      case 5:  // restart: a new DiskCache over the directory, new readers
        dropped += cache->GetStats().corrupt_parts_dropped;
        cache.reset();
        for (auto& r : readers) r.reset();
        cache = OpenCache(cache_dir_.path(), total / 2);
        break;
      case 6:
        cache->EraseObject(store_->Describe(), sst.key);
        break;
      default: {
        if (readers[i] == nullptr) readers[i] = Open(sst, cache);
        ASSERT_NE(readers[i], nullptr);
        if (rnd.OneIn(5)) {
          CheckAll(readers[i].get(), sst);
          break;
        }
        auto k = sst.model.lower_bound(fmt::format("user{:08d}", rnd.Uniform(1000000)));
        if (k == sst.model.end()) k = sst.model.begin();
        LookupResult result;
        ASSERT_TRUE(readers[i]->Get(k->first, kMaxSequenceNumber, &result).ok());
        ASSERT_EQ(result.state, LookupState::kFound);
        ASSERT_EQ(result.value, k->second);
        // A short scan from there.
        auto it = readers[i]->NewIterator();
        it->Seek(MakeInternalKey(k->first, kMaxSequenceNumber, kValueTypeForSeek));
        for (int n = 0; n < 20 && k != sst.model.end(); n++, ++k, it->Next()) {
          ASSERT_TRUE(it->Valid()) << it->status().ToString();
          ASSERT_EQ(it->value(), k->second);
        }
      }
    }
    ASSERT_LE(cache->GetStats().bytes, total / 2);
  }
  // Last, with room for everything: fill the cache, then flip a byte in the data of every part
  // held: each is dropped and refetched.
  dropped += cache->GetStats().corrupt_parts_dropped;
  readers.clear();
  cache = OpenCache(cache_dir_.path(), 4 * total);
  dropped -= cache->GetStats().corrupt_parts_dropped;
  for (size_t i = 0; i < ssts.size(); i++) {
    auto reader = Open(ssts[i], cache);
    ASSERT_NE(reader, nullptr);
    CheckAll(reader.get(), ssts[i]);
  }
  // A flipped byte in the data of every part held: each is dropped and refetched.
  const std::vector<fs::path> files = PartFiles(cache_dir_.path());
  ASSERT_FALSE(files.empty());
  for (const fs::path& path : files) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-1, std::ios::end);
    const char c = static_cast<char>(f.get() ^ 1);
    f.seekp(-1, std::ios::end);
    f.put(c);
  }
  const uint64_t dropped_before = cache->GetStats().corrupt_parts_dropped;
  for (size_t i = 0; i < ssts.size(); i++) {
    auto reader = Open(ssts[i], cache);
    ASSERT_NE(reader, nullptr);
    CheckAll(reader.get(), ssts[i]);
  }
  const DiskCache::Stats stats = cache->GetStats();
  EXPECT_EQ(stats.corrupt_parts_dropped - dropped_before, files.size());
  std::printf("%d random corruptions made, %llu parts dropped; %llu hits, %llu misses\n", corrupted,
              static_cast<unsigned long long>(dropped + stats.corrupt_parts_dropped),
              static_cast<unsigned long long>(stats.hits),
              static_cast<unsigned long long>(stats.misses));
}

// Read everything once, restart the process's cache (a new DiskCache over the directory) and
// read everything again: no object GETs at all, Open's included.
TEST_F(DiskCacheSstTest, WarmRestartMakesNoObjectGets) {
  Random rnd(7);
  const TestSst sst = MakeSst(&rnd, "sst/warm.sst", 1500);
  PutSst(sst);
  ASSERT_GT(sst.bytes.size(), 4 * kPart);
  {
    auto cache = OpenCache(cache_dir_.path(), 64 << 20);
    auto reader = Open(sst, cache);
    CheckAll(reader.get(), sst);
    EXPECT_GT(reader->object_reads(), 0u);
  }
  auto cache = OpenCache(cache_dir_.path(), 64 << 20);
  const uint64_t before = Gets();
  auto reader = Open(sst, cache);
  ASSERT_NE(reader, nullptr);
  CheckAll(reader.get(), sst);
  EXPECT_EQ(Gets(), before);
  EXPECT_EQ(reader->object_reads(), 0u);
  EXPECT_EQ(reader->bytes_read(), 0u);
  EXPECT_GT(cache->GetStats().hits, 0u);
}

// Write-through (what flush and compaction do): an SST inserted whole is read with no GETs
// from the first read on; after EraseObject (retired) reads go back to the store.
TEST_F(DiskCacheSstTest, WriteThroughThenErase) {
  Random rnd(8);
  const TestSst sst = MakeSst(&rnd, "sst/written.sst", 800);
  PutSst(sst);
  auto cache = OpenCache(cache_dir_.path(), 64 << 20);
  cache->InsertObject(store_->Describe(), sst.key, sst.bytes);
  const uint64_t before = Gets();
  {
    auto reader = Open(sst, cache);
    CheckAll(reader.get(), sst);
  }
  EXPECT_EQ(Gets(), before);
  cache->EraseObject(store_->Describe(), sst.key);
  EXPECT_EQ(cache->GetStats().entries, 0u);
  auto reader = Open(sst, cache);
  CheckAll(reader.get(), sst);
  EXPECT_GT(Gets(), before);
}

// Many threads look keys up in one cold SST at once: every part is fetched once.
TEST_F(DiskCacheSstTest, ManyThreadsOnAColdSstFetchEachPartOnce) {
  Random rnd(9);
  const TestSst sst = MakeSst(&rnd, "sst/threads.sst", 2000);
  PutSst(sst);
  auto cache = OpenCache(cache_dir_.path(), 64 << 20);
  auto reader = Open(sst, cache);
  ASSERT_NE(reader, nullptr);
  std::vector<std::pair<std::string, std::string>> entries(sst.model.begin(), sst.model.end());
  constexpr int kThreads = 8;
  std::atomic<int> ready{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (const auto& [k, v] : entries) {  // all threads walk the same keys together
        LookupResult result;
        if (!reader->Get(k, kMaxSequenceNumber, &result).ok() || result.value != v) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Each part of the object at most once; every data part was needed.
  EXPECT_EQ(store_->Snapshot().get_bytes, sst.bytes.size());
  EXPECT_EQ(reader->bytes_read(), sst.bytes.size());
  EXPECT_LE(reader->object_reads(), (sst.bytes.size() + kPart - 1) / kPart);
  std::printf("%llu GETs for %llu parts\n", static_cast<unsigned long long>(reader->object_reads()),
              static_cast<unsigned long long>((sst.bytes.size() + kPart - 1) / kPart));
}

}  // namespace
}  // namespace cloudkv
