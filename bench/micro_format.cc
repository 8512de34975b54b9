// SPDX-License-Identifier: Apache-2.0
// Microbenchmarks of the engine's in-memory structures: memtable insert/lookup (src/db),
// block seek (src/format/block.h) and bloom filter probes (src/format/bloom.h).
//   build/release/bench/micro_format --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/generators.h"
#include "db/memtable.h"
#include "format/block.h"
#include "format/block_builder.h"
#include "format/bloom.h"
#include "format/dbformat.h"
#include "util/random.h"

namespace cloudkv {
namespace {

constexpr size_t kKeySize = 16;

std::string Key(uint64_t n) {
  std::string key;
  bench::FormatKey(n, kKeySize, &key);
  return key;
}

// Inserts range(0) random keys with 100-byte values into a fresh memtable per iteration.
void BM_MemTableInsert(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  Random rnd(1);
  std::vector<std::string> keys;
  for (uint64_t i = 0; i < n; i++) keys.push_back(Key(rnd.Uniform(n * 10)));
  std::string value(100, 'v');
  for (auto _ : state) {
    state.PauseTiming();
    auto mem = std::make_shared<MemTable>();
    state.ResumeTiming();
    SequenceNumber seq = 1;
    for (const std::string& key : keys) mem->Add(seq++, kTypeValue, key, value);
    benchmark::DoNotOptimize(mem->NumEntries());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_MemTableInsert)->Arg(10000)->Arg(100000);

// Point lookups (half hits, half misses) in a memtable of range(0) entries.
void BM_MemTableGet(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  auto mem = std::make_shared<MemTable>();
  std::string value(100, 'v');
  for (uint64_t i = 0; i < n; i++) mem->Add(i + 1, kTypeValue, Key(2 * i), value);
  Random rnd(2);
  LookupResult result;
  uint64_t found = 0;
  for (auto _ : state) {
    mem->Get(Key(rnd.Uniform(2 * n)), kMaxSequenceNumber, &result);
    found += result.state == LookupState::kFound;
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemTableGet)->Arg(10000)->Arg(1000000);

// A ~4 KiB data block of 16-byte user keys (internal keys) and 100-byte values.
std::shared_ptr<const Block> MakeBlock(int restart_interval, int* entries) {
  BlockBuilder builder(restart_interval);
  int i = 0;
  while (builder.CurrentSizeEstimate() < 4096) {
    builder.Add(MakeInternalKey(Key(2 * i), 100, kTypeValue), std::string(100, 'v'));
    i++;
  }
  *entries = i;
  return Block::Parse(std::string(builder.Finish())).value();
}

void BM_BlockSeek(benchmark::State& state) {
  int entries = 0;
  std::shared_ptr<const Block> block = MakeBlock(static_cast<int>(state.range(0)), &entries);
  std::vector<std::string> targets;
  Random rnd(3);
  for (int i = 0; i < 1024; i++) {
    targets.push_back(
        MakeInternalKey(Key(rnd.Uniform(2 * entries)), kMaxSequenceNumber, kTypeValue));
  }
  BlockIter it(block.get());
  size_t i = 0;
  for (auto _ : state) {
    it.Seek(targets[i++ & 1023]);
    benchmark::DoNotOptimize(it.Valid());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["entries"] = entries;
}
BENCHMARK(BM_BlockSeek)->Arg(16)->Arg(4);

void BM_BlockScan(benchmark::State& state) {
  int entries = 0;
  std::shared_ptr<const Block> block = MakeBlock(16, &entries);
  BlockIter it(block.get());
  for (auto _ : state) {
    size_t bytes = 0;
    for (it.SeekToFirst(); it.Valid(); it.Next()) bytes += it.value().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * entries);
}
BENCHMARK(BM_BlockScan);

// Probes of a filter over range(0) keys with 10 bits/key; half the probes are absent keys.
void BM_BloomProbe(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  BloomFilterBuilder builder(10);
  for (uint64_t i = 0; i < n; i++) builder.AddKey(Key(2 * i));
  std::string filter = builder.Finish();
  std::unique_ptr<BloomFilterReader> reader = BloomFilterReader::Create(filter).value();
  std::vector<std::string> probes;
  Random rnd(4);
  for (int i = 0; i < 4096; i++) probes.push_back(Key(rnd.Uniform(2 * n)));
  size_t i = 0;
  uint64_t hits = 0;
  for (auto _ : state) hits += reader->MayContain(probes[i++ & 4095]);
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BloomProbe)->Arg(10000)->Arg(1000000);

void BM_BloomBuild(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  std::vector<std::string> keys;
  for (uint64_t i = 0; i < n; i++) keys.push_back(Key(i));
  for (auto _ : state) {
    BloomFilterBuilder builder(10);
    for (const std::string& key : keys) builder.AddKey(key);
    benchmark::DoNotOptimize(builder.Finish());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_BloomBuild)->Arg(100000);

}  // namespace
}  // namespace cloudkv

BENCHMARK_MAIN();
