// SPDX-License-Identifier: Apache-2.0
// ctest-labels: s3
// S3Store against a real S3 server: the one scripts/s3-server starts (Ceph RGW), or any other
// named by S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and S3_REGION.
// Without S3_ENDPOINT the tests are skipped loudly, and fail when CI=true.
// Each test works under a fresh unique prefix, so runs never see each other's objects.
#include "store/s3_store.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "cloudkv/object_store.h"
#include "store/s3_client.h"
#include "store/s3_config.h"
#include "store/s3_xml.h"
#include "support/store_conformance.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Whether the S3 tests must run: CI always starts the server.
bool RunningInCi() { return Env("CI") == "true" || Env("CI") == "1"; }

// The server's configuration with a unique prefix, or nullopt when S3_ENDPOINT is unset.
std::optional<S3Config> ServerConfig() {
  if (Env("S3_ENDPOINT").empty()) return std::nullopt;
  static std::atomic<int> counter{0};
  S3Config c;
  c.endpoint = Env("S3_ENDPOINT");
  c.bucket = Env("S3_BUCKET");
  c.region = Env("S3_REGION").empty() ? "us-east-1" : Env("S3_REGION");
  c.path_style = true;
  c.credentials = {Env("S3_ACCESS_KEY_ID"), Env("S3_SECRET_ACCESS_KEY"), ""};
  c.credentials_source = "S3_ACCESS_KEY_ID";
  c.prefix = "s3test/" + std::to_string(getpid()) + "-" + std::to_string(RandomSeed() % 1000000) +
             "-" + std::to_string(counter++) + "/";
  return c;
}

#define REQUIRE_S3_SERVER(config)                                                             \
  std::optional<S3Config> config = ServerConfig();                                            \
  if (!config) {                                                                              \
    if (RunningInCi()) {                                                                      \
      FAIL() << "S3_ENDPOINT is not set but CI=true: the S3 tests must run in CI; start the " \
                "server with: eval \"$(scripts/s3-server start)\"";                           \
    }                                                                                         \
    GTEST_SKIP() << "\n*** S3 TESTS SKIPPED: S3_ENDPOINT is not set. Start the local server " \
                    "with: eval \"$(scripts/s3-server start)\" ***";                          \
  }

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_S3_SERVER(config);
    config_ = *config;
    store_ = NewS3StoreFromConfig(config_);
  }
  void TearDown() override {
    if (!store_) return;
    // Remove what the test left under its prefix.
    for (int i = 0; i < 100; i++) {
      auto list = store_->List("", "", 1000);
      if (!list.ok() || list->objects.empty()) break;
      std::vector<std::string> keys;
      for (auto& o : list->objects) keys.push_back(o.key);
      ASSERT_TRUE(store_->DeleteMany(keys).ok());
    }
  }

  S3Config config_;
  std::shared_ptr<ObjectStore> store_;
};

TEST_F(S3StoreTest, RoundTripHeadDeleteAndNotFound) {
  auto etag = store_->Put("a/b", "hello");
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  EXPECT_FALSE(etag->empty());
  EXPECT_EQ(etag->front() == '"', false);
  auto got = store_->Get("a/b");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->data, "hello");
  EXPECT_EQ(got->etag, *etag);
  EXPECT_EQ(got->object_size, 5u);
  auto head = store_->Head("a/b");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 5u);
  EXPECT_EQ(head->etag, *etag);
  EXPECT_EQ(head->key, "a/b");

  ASSERT_TRUE(store_->Put("a/b", "world!").ok());
  EXPECT_EQ(store_->Get("a/b")->data, "world!");
  ASSERT_TRUE(store_->Delete("a/b").ok());
  EXPECT_TRUE(store_->Get("a/b").status().IsNotFound()) << store_->Get("a/b").status().ToString();
  EXPECT_TRUE(store_->Head("a/b").status().IsNotFound());
  EXPECT_TRUE(store_->Get("a/b", ByteRange{0, 1}).status().IsNotFound());
  EXPECT_TRUE(store_->Delete("a/b").ok());  // idempotent

  // Empty objects and keys that need encoding.
  ASSERT_TRUE(store_->Put("empty", "").ok());
  auto empty = store_->Get("empty");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->data, "");
  EXPECT_EQ(empty->object_size, 0u);
  const std::string odd = "dir with space/a+b=c&d%e~f#g?h;i:j,k@l$m/\xc3\xbc!'()*";
  ASSERT_TRUE(store_->Put(odd, "odd").ok());
  EXPECT_EQ(store_->Get(odd)->data, "odd");
  auto list = store_->List("dir with space/");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->objects.size(), 1u);
  EXPECT_EQ(list->objects[0].key, odd);
  EXPECT_TRUE(store_->Put("bad//key", "x").status().IsInvalidArgument());
}

TEST_F(S3StoreTest, RangedReads) {
  Random rnd(TestSeed("S3StoreTest.RangedReads"));
  std::string data = rnd.Bytes(100000);
  ASSERT_TRUE(store_->Put("r", data).ok());
  for (int i = 0; i < 20; i++) {
    uint64_t off = rnd.Uniform(data.size());
    uint64_t len = rnd.Range(1, 30000);
    auto got = store_->Get("r", ByteRange{off, len});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->data, data.substr(off, len));
    EXPECT_EQ(got->object_size, data.size());
  }
  EXPECT_EQ(store_->Get("r", ByteRange{99990, 1000})->data, data.substr(99990));  // cut at end
  EXPECT_TRUE(store_->Get("r", ByteRange{100000, 1}).status().IsInvalidArgument());
  auto zero = store_->Get("r", ByteRange{5, 0});
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->data, "");
  EXPECT_EQ(zero->object_size, data.size());
}

TEST_F(S3StoreTest, MultipartAndParallelGetOf64MiB) {
  config_.multipart_threshold_bytes = 16 << 20;
  config_.multipart_part_bytes = 8 << 20;
  config_.parallel_get_part_bytes = 8 << 20;
  store_ = NewS3StoreFromConfig(config_);
  Random rnd(TestSeed("S3StoreTest.MultipartAndParallelGetOf64MiB"));
  std::string data = rnd.Bytes(64 << 20);
  auto etag = store_->Put("big", data);
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  EXPECT_FALSE(etag->empty());
  auto head = store_->Head("big");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, data.size());
  EXPECT_EQ(head->etag, *etag);
  auto got = store_->Get("big");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->object_size, data.size());
  EXPECT_TRUE(got->data == data);
  EXPECT_EQ(got->etag, *etag);
  auto range = store_->Get("big", ByteRange{(8 << 20) - 3, 10});
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->data, data.substr((8 << 20) - 3, 10));

  // A create-if-absent above the threshold is still one conditional PUT.
  auto cond =
      store_->Put("big-cond", std::string_view(data).substr(0, 20 << 20), PutOptions::IfAbsent());
  ASSERT_TRUE(cond.ok()) << cond.status().ToString();
  EXPECT_TRUE(store_->Put("big-cond", "x", PutOptions::IfAbsent()).status().IsPreconditionFailed());

  // No multipart upload was left behind under the prefix.
  S3Client client(config_);
  S3Request req;
  req.method = "GET";
  req.query = {{"uploads", ""}, {"prefix", config_.prefix}};
  auto r = client.Send(req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->http.status, 200) << r->http.body;
  auto xml = ParseXml(r->http.body);
  ASSERT_TRUE(xml.ok());
  EXPECT_EQ(xml->Child("Upload"), nullptr) << r->http.body;
}

TEST_F(S3StoreTest, IfAbsentRaceHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 5; round++) {
    std::string key = "race/" + std::to_string(round);
    std::atomic<int> wins{0}, losses{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
      threads.emplace_back([&, t] {
        auto r = store_->Put(key, "writer " + std::to_string(t), PutOptions::IfAbsent());
        if (r.ok()) {
          wins++;
        } else {
          EXPECT_TRUE(r.status().IsPreconditionFailed()) << r.status().ToString();
          losses++;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(losses.load(), kThreads - 1);
  }
}

TEST_F(S3StoreTest, IfMatchCompareAndSwap) {
  // If-match on a missing key, with a stale etag, and the current one.
  EXPECT_TRUE(store_->Put("cas", "0", PutOptions::IfMatch("abc")).status().IsPreconditionFailed());
  auto e1 = store_->Put("cas", "0", PutOptions::IfAbsent());
  ASSERT_TRUE(e1.ok());
  auto e2 = store_->Put("cas", "1", PutOptions::IfMatch(*e1));
  ASSERT_TRUE(e2.ok()) << e2.status().ToString();
  EXPECT_TRUE(store_->Put("cas", "2", PutOptions::IfMatch(*e1)).status().IsPreconditionFailed());
  EXPECT_EQ(store_->Get("cas")->data, "1");

  // A counter incremented by racing CAS loops ends at the number of increments. Like the
  // engine's objects, every value carries a nonce: the store resolves a conditional put whose
  // response was lost by comparing bytes, which is only sound for unique bytes. (Ceph RGW
  // answers some racing conditional PUTs with 500, so that path runs here.)
  constexpr int kThreads = 6, kIncrements = 8;
  std::vector<std::thread> threads;
  std::atomic<int> conflicts{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Random rnd(RandomSeed());
      for (int i = 0; i < kIncrements; i++) {
        for (int tries = 0; tries < 1000; tries++) {
          auto cur = store_->Get("cas");
          ASSERT_TRUE(cur.ok()) << cur.status().ToString();
          std::string next = std::to_string(std::stoi(cur->data) + 1) + " nonce " +
                             std::to_string(t) + "-" + std::to_string(rnd.Next64());
          auto r = store_->Put("cas", next, PutOptions::IfMatch(cur->etag));
          if (r.ok()) break;
          ASSERT_TRUE(r.status().IsPreconditionFailed()) << r.status().ToString();
          conflicts++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::stoi(store_->Get("cas")->data), 1 + kThreads * kIncrements);
  std::cerr << "CAS conflicts: " << conflicts.load() << "\n";
}

TEST_F(S3StoreTest, ListPagingStartAfterAndDeleteMany) {
  constexpr int kKeys = 1100;  // more than one ListObjectsV2 page and one DeleteObjects batch
  std::vector<std::string> keys;
  char buf[32];
  for (int i = 0; i < kKeys; i++) {
    std::snprintf(buf, sizeof(buf), "l/%05d", i);
    keys.push_back(buf);
  }
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; t++) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < kKeys;) ASSERT_TRUE(store_->Put(keys[i], keys[i]).ok());
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(store_->Put("m", "outside the listed prefix").ok());

  auto all = store_->List("l/", "", 5000);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->objects.size(), static_cast<size_t>(kKeys));
  EXPECT_FALSE(all->truncated);
  for (int i = 0; i < kKeys; i++) {
    EXPECT_EQ(all->objects[i].key, keys[i]);
    EXPECT_EQ(all->objects[i].size, keys[i].size());
  }
  // Pages of 7 with start_after.
  std::vector<std::string> seen;
  std::string after;
  for (int pages = 0; pages < 1000; pages++) {
    auto page = store_->List("l/0", after, 7);
    ASSERT_TRUE(page.ok());
    for (auto& o : page->objects) seen.push_back(o.key);
    if (!page->truncated) break;
    ASSERT_EQ(page->objects.size(), 7u);
    after = page->objects.back().key;
  }
  EXPECT_EQ(seen, keys);
  auto limited = store_->List("l/", "", 0);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->objects.size(), 1000u);
  EXPECT_TRUE(limited->truncated);
  auto tail = store_->List("", "l/01095");
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->objects.size(), 5u);
  EXPECT_EQ(tail->objects.back().key, "m");

  std::vector<std::string> doomed = keys;
  doomed.push_back("never-existed");
  ASSERT_TRUE(store_->DeleteMany(doomed).ok());
  auto left = store_->List("");
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->objects.size(), 1u);
  EXPECT_EQ(left->objects[0].key, "m");
}

TEST_F(S3StoreTest, BadCredentialsNameTheKeyButNotTheSecret) {
  S3Config bad = config_;
  bad.credentials = {"WRONG-KEY-ID", "wrong-secret-value", ""};
  auto store = NewS3StoreFromConfig(bad);
  auto r = store->Get("x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("access denied for access key id 'WRONG-KEY-ID'"),
            std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(r.status().message().find("wrong-secret-value"), std::string::npos);

  bad.credentials = {config_.credentials.access_key_id, "wrong-secret-value", ""};
  auto put = NewS3StoreFromConfig(bad)->Put("x", "y");
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("access denied"), std::string::npos)
      << put.status().ToString();
}

TEST_F(S3StoreTest, MissingBucketSaysSo) {
  S3Config bad = config_;
  bad.bucket = "cloudkv-no-such-bucket-" + std::to_string(getpid());
  auto store = NewS3StoreFromConfig(bad);
  for (Status s :
       {store->Get("x").status(), store->Put("x", "y").status(), store->List("").status()}) {
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_NE(s.message().find("does not exist"), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find("NoSuchBucket"), std::string::npos) << s.ToString();
  }
}

TEST_F(S3StoreTest, UnreachableEndpointFailsAfterBoundedRetries) {
  // A port that was free a moment ago: connections are refused.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  S3Config bad = config_;
  bad.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  bad.max_attempts = 3;
  auto r = NewS3StoreFromConfig(bad)->Get("x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("gave up after 3 attempts"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos);
}

TEST_F(S3StoreTest, OpenByUrlWithEnvironmentAndDetectedQuirks) {
  setenv("AWS_ACCESS_KEY_ID", config_.credentials.access_key_id.c_str(), 1);
  setenv("AWS_SECRET_ACCESS_KEY", config_.credentials.secret_access_key.c_str(), 1);
  setenv("AWS_REGION", config_.region.c_str(), 1);
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_ENDPOINT_URL");
  unsetenv("AWS_ENDPOINT_URL_S3");
  std::string url = "s3://" + config_.bucket + "/" + config_.prefix +
                    "?endpoint=" + config_.endpoint + "&max_attempts=4";
  auto store = OpenObjectStore(url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->capabilities().atomic_if_absent);
  EXPECT_TRUE((*store)->capabilities().atomic_if_match);
  EXPECT_TRUE((*store)->capabilities().remote);
  EXPECT_EQ((*store)->capabilities().latency_class, StoreLatencyClass::kRemote);
  auto e1 = (*store)->Put("via-url", "1", PutOptions::IfAbsent());
  ASSERT_TRUE(e1.ok()) << e1.status().ToString();
  // If-Match works whatever the server's quoting quirk (auto-detected).
  auto e2 = (*store)->Put("via-url", "2", PutOptions::IfMatch(*e1));
  ASSERT_TRUE(e2.ok()) << e2.status().ToString();
  EXPECT_EQ(store_->Get("via-url")->data, "2");

  EXPECT_TRUE(OpenObjectStore(url + "&secret_access_key=x").status().IsInvalidArgument());
  EXPECT_TRUE(OpenObjectStore(url + "&no_such_option=1").status().IsInvalidArgument());
  EXPECT_TRUE(OpenObjectStore("s3://" + config_.bucket + "?endpoint=localhost:1")
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(OpenObjectStore("s3://Bad_Bucket").status().IsInvalidArgument());
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_REGION");
}

TEST_F(S3StoreTest, ManyConcurrentRequests) {
  constexpr int kThreads = 32, kOps = 10;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; i++) {
        std::string key = "c/" + std::to_string(t) + "/" + std::to_string(i);
        std::string value(4096, static_cast<char>('a' + (t + i) % 26));
        ASSERT_TRUE(store_->Put(key, value).ok());
        auto got = store_->Get(key);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        EXPECT_EQ(got->data, value);
      }
    });
  }
  for (auto& t : threads) t.join();
}

// The ObjectStore conformance suite on the real server, each test under a fresh prefix. Required
// (it fails rather than skips) whenever S3_ENDPOINT is set, as make test and CI set it, and in CI.
StoreFactory S3Factory() {
  StoreFactory f;
  f.name = "s3";
  f.required = !Env("S3_ENDPOINT").empty() || RunningInCi();
  f.make = []() -> Result<StoreUnderTest> {
    std::optional<S3Config> config = ServerConfig();
    if (!config) {
      return Status::NotSupported(std::string("S3_ENDPOINT is not set") +
                                  (RunningInCi() ? " but CI is: the S3 tests must run in CI" : "") +
                                  "; start the server with: eval \"$(scripts/s3-server start)\"");
    }
    S3Config c = *config;
    return StoreUnderTest{NewS3StoreFromConfig(c), [c] {
                            auto store = NewS3StoreFromConfig(c);
                            for (int i = 0; i < 100; i++) {
                              auto list = store->List("", "", 1000);
                              if (!list.ok() || list->objects.empty()) break;
                              std::vector<std::string> keys;
                              for (auto& o : list->objects) keys.push_back(o.key);
                              if (!store->DeleteMany(keys).ok()) break;
                            }
                          }};
  };
  f.race_threads = 6;
  f.cas_increments_per_thread = 8;
  f.etag_changes_with_identical_content = false;  // the ETag is the MD5 of the content
  return f;
}

INSTANTIATE_STORE_CONFORMANCE(RealServer, S3Factory());

}  // namespace
}  // namespace cloudkv
