// SPDX-License-Identifier: Apache-2.0
// Microbenchmarks of SigV4 request signing (src/store/sigv4.h), the CPU every S3 request pays
// before it is sent: the signature itself (canonical request, string to sign, the five chained
// HMAC-SHA256 of the key derivation and the final HMAC), and the SHA-256 of a PUT's payload,
// which S3Client computes once per request (not per retry) for x-amz-content-sha256.
//   build/release/bench/micro_sigv4 --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <string>
#include <utility>
#include <vector>

#include "store/sigv4.h"
#include "util/random.h"

namespace cloudkv {
namespace {

constexpr std::string_view kAmzDate = "20261124T010203Z";
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

AwsCredentials Credentials() {
  return {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
}

// A request shaped like S3Client's (path-style, as with a local endpoint): host, x-amz-date and
// x-amz-content-sha256, plus the headers of each kind of request cloudkv sends.
SigV4Request S3Request(std::string method, std::string key,
                       std::vector<std::pair<std::string, std::string>> extra_headers,
                       std::string payload_hash) {
  SigV4Request r;
  r.method = std::move(method);
  r.canonical_uri = "/cloudkv-bench/" + UriEncode(key, /*keep_slash=*/true);
  r.headers = std::move(extra_headers);
  r.headers.emplace_back("host", "127.0.0.1:7480");
  r.headers.emplace_back("x-amz-date", std::string(kAmzDate));
  r.headers.emplace_back("x-amz-content-sha256", payload_hash);
  r.payload_hash = std::move(payload_hash);
  return r;
}

// A ranged GET of an SST block.
void BM_SignV4_RangedGet(benchmark::State& state) {
  SigV4Request r = S3Request("GET", "dbs/orders/sst/660fb57f05137-91a191012a7a8f47.sst",
                             {{"Range", "bytes=65536-131071"}}, std::string(kEmptySha256));
  AwsCredentials credentials = Credentials();
  for (auto _ : state) {
    SigV4Result s = SignV4(r, credentials, "us-east-1", "s3", kAmzDate);
    benchmark::DoNotOptimize(s.authorization.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SignV4_RangedGet);

// A LIST with query parameters (sorted and encoded by the signer).
void BM_SignV4_List(benchmark::State& state) {
  SigV4Request r = S3Request("GET", "", {}, std::string(kEmptySha256));
  r.canonical_uri = "/cloudkv-bench";
  r.query = {{"list-type", "2"},
             {"prefix", "dbs/orders/manifest/"},
             {"start-after", "dbs/orders/manifest/00000000000000000042.manifest"},
             {"max-keys", "1000"}};
  AwsCredentials credentials = Credentials();
  for (auto _ : state) {
    SigV4Result s = SignV4(r, credentials, "us-east-1", "s3", kAmzDate);
    benchmark::DoNotOptimize(s.authorization.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SignV4_List);

// A conditional PUT of a WAL object of range(0) bytes, including the payload's SHA-256: the
// whole signing cost of one WAL upload.
void BM_SignV4_PutWithPayload(benchmark::State& state) {
  Random rnd(7);
  std::string body(static_cast<size_t>(state.range(0)), '\0');
  for (char& c : body) c = static_cast<char>(rnd.Uniform(256));
  AwsCredentials credentials = Credentials();
  for (auto _ : state) {
    std::string hash = Sha256Hex(body);
    SigV4Request r = S3Request("PUT", "dbs/orders/wal/00000000000000001234.wal",
                               {{"If-None-Match", "*"}}, std::move(hash));
    SigV4Result s = SignV4(r, credentials, "us-east-1", "s3", kAmzDate);
    benchmark::DoNotOptimize(s.authorization.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_SignV4_PutWithPayload)->Arg(0)->Arg(4 << 10)->Arg(256 << 10)->Arg(4 << 20);

// The pieces: one HMAC (the signature chains six), SHA-256 throughput, key encoding.
void BM_HmacSha256(benchmark::State& state) {
  std::string key(32, 'k');
  std::string data = "AWS4-HMAC-SHA256\n20261124T010203Z\n20261124/us-east-1/s3/aws4_request\n" +
                     std::string(kEmptySha256);
  for (auto _ : state) {
    std::string mac = HmacSha256(key, data);
    benchmark::DoNotOptimize(mac.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_HmacSha256);

void BM_Sha256Hex(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    std::string hash = Sha256Hex(data);
    benchmark::DoNotOptimize(hash.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256Hex)->Arg(64)->Arg(4 << 10)->Arg(1 << 20);

void BM_UriEncode(benchmark::State& state) {
  std::string key = "dbs/orders by region/sst/660fb57f05137-91a191012a7a8f47.sst";
  for (auto _ : state) {
    std::string encoded = UriEncode(key, /*keep_slash=*/true);
    benchmark::DoNotOptimize(encoded.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_UriEncode);

}  // namespace
}  // namespace cloudkv

BENCHMARK_MAIN();
