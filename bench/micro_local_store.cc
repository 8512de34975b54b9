// SPDX-License-Identifier: Apache-2.0
// Microbenchmarks of the file:// store's operations, durable and not (docs/object-stores.md,
// "Durability and cost"): a single thread, 100-byte objects.
//   build/release/bench/micro_local_store --benchmark_min_time=2
//   CLOUDKV_BENCH_DIR   where the stores go (default /tmp); file creation there can cost far more
//                       CPU after many deletions (tools/experiments/file-create-cost)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

// Directories are removed only when the process ends: on ext4 without a journal, deleting
// thousands of files makes the next ones' creation slow for about half a minute
// (tools/experiments/file-create-cost), which would charge one case for the one before.
std::vector<std::string>& DirsToRemove() {
  static auto* dirs = new std::vector<std::string>;
  return *dirs;
}

// A store in a fresh directory.
class BenchStore {
 public:
  explicit BenchStore(const std::string& options) {
    const char* base = std::getenv("CLOUDKV_BENCH_DIR");
    dir_ = std::string(base != nullptr ? base : "/tmp") + "/cloudkv-micro-local-store." +
           std::to_string(RandomSeed());
    DirsToRemove().push_back(dir_);
    Result<std::shared_ptr<ObjectStore>> store = OpenObjectStore("file://" + dir_ + options);
    if (store.ok()) store_ = *store;
  }
  ObjectStore* get() const { return store_.get(); }

 private:
  std::string dir_;
  std::shared_ptr<ObjectStore> store_;
};

const char* const kOptions[] = {"", "?fsync=false", "?temp_pool=0"};
const std::string kValue(100, 'v');

void SetLabel(benchmark::State& state) {
  static const char* const kLabels[] = {"fsync", "fsync=false", "fsync, temp_pool=0"};
  state.SetLabel(kLabels[state.range(0)]);
}

void BM_PutIfAbsent(benchmark::State& state) {
  BenchStore store(kOptions[state.range(0)]);
  if (store.get() == nullptr) return state.SkipWithError("cannot open the store");
  uint64_t i = 0;
  for (auto _ : state) {
    if (!store.get()->Put("wal/" + std::to_string(i++), kValue, PutOptions::IfAbsent()).ok()) {
      return state.SkipWithError("put failed");
    }
  }
  SetLabel(state);
}
BENCHMARK(BM_PutIfAbsent)->DenseRange(0, 2)->UseRealTime();

void BM_PutOverwrite(benchmark::State& state) {
  BenchStore store(kOptions[state.range(0)]);
  if (store.get() == nullptr) return state.SkipWithError("cannot open the store");
  for (auto _ : state) {
    if (!store.get()->Put("manifest", kValue, PutOptions::Overwrite()).ok()) {
      return state.SkipWithError("put failed");
    }
  }
  SetLabel(state);
}
BENCHMARK(BM_PutOverwrite)->DenseRange(0, 2)->UseRealTime();

void BM_PutIfMatch(benchmark::State& state) {
  BenchStore store(kOptions[state.range(0)]);
  if (store.get() == nullptr) return state.SkipWithError("cannot open the store");
  Result<std::string> etag = store.get()->Put("current", kValue, PutOptions::Overwrite());
  for (auto _ : state) {
    if (!etag.ok()) return state.SkipWithError("put failed");
    etag = store.get()->Put("current", kValue, PutOptions::IfMatch(*etag));
  }
  SetLabel(state);
}
BENCHMARK(BM_PutIfMatch)->DenseRange(0, 2)->UseRealTime();

void BM_Get(benchmark::State& state) {
  BenchStore store(kOptions[state.range(0)]);
  if (store.get() == nullptr) return state.SkipWithError("cannot open the store");
  if (!store.get()->Put("sst/000001.sst", kValue, PutOptions::IfAbsent()).ok()) {
    return state.SkipWithError("put failed");
  }
  for (auto _ : state) {
    Result<GetResult> got = store.get()->Get("sst/000001.sst");
    benchmark::DoNotOptimize(got);
  }
  SetLabel(state);
}
BENCHMARK(BM_Get)->DenseRange(0, 2)->UseRealTime();

}  // namespace
}  // namespace cloudkv

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (const std::string& dir : cloudkv::DirsToRemove()) std::filesystem::remove_all(dir);
  return 0;
}
