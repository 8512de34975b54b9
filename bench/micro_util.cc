// SPDX-License-Identifier: Apache-2.0
// Microbenchmarks of src/util: varint encoding/decoding and XXH3 checksums.
//   build/release/bench/micro_util --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "util/coding.h"
#include "util/hash.h"
#include "util/random.h"

namespace cloudkv {
namespace {

// Values whose varints are `bytes` long.
std::vector<uint64_t> VarintValues(int bytes) {
  Random rnd(42);
  std::vector<uint64_t> values(4096);
  const int bits = 7 * bytes;
  for (auto& v : values) {
    uint64_t low = bytes == 1 ? 0 : uint64_t{1} << (bits - 7);
    uint64_t high = bits >= 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
    v = low + rnd.Uniform(high - low);
  }
  return values;
}

void BM_PutVarint64(benchmark::State& state) {
  std::vector<uint64_t> values = VarintValues(static_cast<int>(state.range(0)));
  std::string buf;
  buf.reserve(values.size() * 10);
  for (auto _ : state) {
    buf.clear();
    for (uint64_t v : values) PutVarint64(&buf, v);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * values.size()));
}
BENCHMARK(BM_PutVarint64)->Arg(1)->Arg(3)->Arg(5)->Arg(9);

void BM_GetVarint64(benchmark::State& state) {
  std::vector<uint64_t> values = VarintValues(static_cast<int>(state.range(0)));
  std::string buf;
  for (uint64_t v : values) PutVarint64(&buf, v);
  for (auto _ : state) {
    std::string_view in = buf;
    uint64_t sum = 0, v = 0;
    while (GetVarint64(&in, &v)) sum += v;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * values.size()));
}
BENCHMARK(BM_GetVarint64)->Arg(1)->Arg(3)->Arg(5)->Arg(9);

void BM_GetVarint32Ptr(benchmark::State& state) {
  Random rnd(7);
  std::string buf;
  constexpr int kCount = 4096;
  for (int i = 0; i < kCount; i++) PutVarint32(&buf, rnd.Next32() >> rnd.Uniform(32));
  for (auto _ : state) {
    const char* p = buf.data();
    const char* limit = p + buf.size();
    uint32_t sum = 0, v = 0;
    while (p != nullptr && p < limit) {
      p = GetVarint32Ptr(p, limit, &v);
      sum += v;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kCount);
}
BENCHMARK(BM_GetVarint32Ptr);

void BM_Checksum64(benchmark::State& state) {
  Random rnd(1);
  std::string data = rnd.Bytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Checksum64(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Checksum64)->Arg(16)->Arg(128)->Arg(4096)->Arg(64 << 10)->Arg(4 << 20);

void BM_Hash64Key(benchmark::State& state) {
  std::string key = "0000000000123456";
  for (auto _ : state) benchmark::DoNotOptimize(Hash64(key));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hash64Key);

}  // namespace
}  // namespace cloudkv

BENCHMARK_MAIN();
