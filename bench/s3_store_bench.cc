// SPDX-License-Identifier: Apache-2.0
// s3_store_bench: PUT and GET throughput and latency of S3Store against the server named by
// S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY (scripts/s3-server start).
//
//   s3_store_bench [--sizes 4096,16777216] [--concurrency 1,8,32] [--ops N] [--large-ops N]
//
// For every size and concurrency: C threads PUT `ops` objects of that size (distinct keys),
// then GET them back (each object once, in a shuffled order). Prints one line per run with
// requests/s, MB/s, p50 and p99 latency, and deletes its objects afterwards.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "store/s3_store.h"
#include "util/random.h"

namespace cloudkv {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<uint64_t> ParseList(const char* s) {
  std::vector<uint64_t> out;
  std::string str(s);
  size_t pos = 0;
  while (pos <= str.size()) {
    size_t comma = str.find(',', pos);
    out.push_back(std::strtoull(str.substr(pos, comma - pos).c_str(), nullptr, 10));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

struct RunResult {
  double seconds = 0;
  std::vector<double> latencies_ms;
  int errors = 0;
};

// Runs `ops` calls of `op(i)` on `threads` threads.
template <typename Op>
RunResult Run(int threads, int ops, Op op) {
  RunResult result;
  std::atomic<int> next{0}, errors{0};
  std::vector<std::vector<double>> lat(threads);
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; t++) {
    pool.emplace_back([&, t] {
      for (int i; (i = next++) < ops;) {
        auto t0 = Clock::now();
        if (!op(i)) errors++;
        lat[t].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : pool) t.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& l : lat) result.latencies_ms.insert(result.latencies_ms.end(), l.begin(), l.end());
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  result.errors = errors;
  return result;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

void Print(const char* op, uint64_t size, int threads, int ops, const RunResult& r) {
  double mb = static_cast<double>(size) * ops / r.seconds / 1e6;
  std::printf(
      "%-4s size=%-9llu conc=%-3d ops=%-5d %9.1f req/s %8.1f MB/s  p50 %8.2f ms  p99 %8.2f ms%s\n",
      op, static_cast<unsigned long long>(size), threads, ops, ops / r.seconds, mb,
      Percentile(r.latencies_ms, 0.5), Percentile(r.latencies_ms, 0.99),
      r.errors ? "  ERRORS" : "");
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  std::vector<uint64_t> sizes = {4096, 16 << 20};
  std::vector<uint64_t> conc = {1, 8, 32};
  int small_ops = 2000, large_ops = 64;
  uint64_t get_part = 8 << 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--sizes")
      sizes = ParseList(argv[i + 1]);
    else if (a == "--concurrency")
      conc = ParseList(argv[i + 1]);
    else if (a == "--ops")
      small_ops = std::atoi(argv[i + 1]);
    else if (a == "--get-part-size")
      get_part = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--large-ops")
      large_ops = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  const char* endpoint = std::getenv("S3_ENDPOINT");
  if (!endpoint) {
    std::fprintf(stderr, "S3_ENDPOINT is not set: eval \"$(scripts/s3-server start)\"\n");
    return 2;
  }
  S3Config c;
  c.endpoint = endpoint;
  c.bucket = std::getenv("S3_BUCKET");
  c.region = std::getenv("S3_REGION") ? std::getenv("S3_REGION") : "us-east-1";
  c.path_style = true;
  c.credentials = {std::getenv("S3_ACCESS_KEY_ID"), std::getenv("S3_SECRET_ACCESS_KEY"), ""};
  c.credentials_source = "S3_ACCESS_KEY_ID";
  c.parallel_get_part_bytes = get_part;
  c.prefix = "bench/" + std::to_string(RandomSeed() % 1000000) + "/";
  auto store = NewS3StoreFromConfig(c);
  Random rnd(1);
  for (uint64_t size : sizes) {
    std::string data = rnd.Bytes(size);
    for (uint64_t threads : conc) {
      int ops = size >= (1 << 20) ? large_ops : small_ops;
      auto key = [&](int i) { return "s" + std::to_string(size) + "/" + std::to_string(i); };
      RunResult put =
          Run(static_cast<int>(threads), ops, [&](int i) { return store->Put(key(i), data).ok(); });
      Print("PUT", size, static_cast<int>(threads), ops, put);
      std::vector<int> order(ops);
      for (int i = 0; i < ops; i++) order[i] = i;
      for (int i = ops - 1; i > 0; i--) std::swap(order[i], order[rnd.Uniform(i + 1)]);
      RunResult get = Run(static_cast<int>(threads), ops, [&](int i) {
        auto r = store->Get(key(order[i]));
        return r.ok() && r->data.size() == size;
      });
      Print("GET", size, static_cast<int>(threads), ops, get);
      std::vector<std::string> keys;
      for (int i = 0; i < ops; i++) keys.push_back(key(i));
      if (!store->DeleteMany(keys).ok()) std::fprintf(stderr, "cleanup failed\n");
    }
  }
  return 0;
}

}  // namespace
}  // namespace cloudkv

int main(int argc, char** argv) { return cloudkv::Main(argc, argv); }
