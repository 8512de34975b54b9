// SPDX-License-Identifier: Apache-2.0
#include "support/store_conformance.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "util/random.h"

namespace cloudkv {

int StoreConformanceAnchor() { return 0; }

std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

void StoreConformanceTest::SetUp() {
  Result<StoreUnderTest> made = GetParam().make();
  if (!made.ok()) {
    if (GetParam().required) {
      FAIL() << "the " << GetParam().name
             << " store cannot be opened: " << made.status().ToString();
    }
    GTEST_SKIP() << "\n*** " << GetParam().name
                 << " CONFORMANCE TESTS SKIPPED: " << made.status().ToString() << " ***";
  }
  store_ = std::move(made->store);
  cleanup_ = std::move(made->cleanup);
  ASSERT_NE(store_, nullptr);
}

void StoreConformanceTest::TearDown() {
  store_.reset();
  if (cleanup_) cleanup_();
}

// Most conformance tests are only meaningful if the suite was instantiated; binaries that link
// the support library without instantiating it are fine too.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreConformanceTest);

namespace {

std::vector<std::string> ListAll(ObjectStore& store, std::string_view prefix, size_t page = 0) {
  std::vector<std::string> keys;
  std::string after;
  for (int pages = 0; pages < 100000; pages++) {
    Result<ListResult> r = store.List(prefix, after, page);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    for (const ObjectInfo& o : r->objects) keys.push_back(o.key);
    if (!r->truncated) break;
    EXPECT_FALSE(r->objects.empty()) << "truncated listing without objects";
    if (r->objects.empty()) break;
    after = r->objects.back().key;
  }
  return keys;
}

std::string MustGet(ObjectStore& store, std::string_view key) {
  Result<GetResult> r = store.Get(key);
  EXPECT_TRUE(r.ok()) << key << ": " << r.status().ToString();
  return r.ok() ? r->data : std::string("<error>");
}

TEST_P(StoreConformanceTest, PutGetHeadRoundTrip) {
  Result<std::string> e1 = store().Put("dir/obj", "hello");
  ASSERT_TRUE(e1.ok()) << e1.status().ToString();
  Result<GetResult> got = store().Get("dir/obj");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->data, "hello");
  EXPECT_EQ(got->etag, *e1);
  EXPECT_EQ(got->object_size, 5u);
  Result<ObjectInfo> head = store().Head("dir/obj");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->key, "dir/obj");
  EXPECT_EQ(head->size, 5u);
  EXPECT_EQ(head->etag, *e1);

  // Every put makes a new etag, also with identical content; reads report it stably.
  Result<std::string> e2 = store().Put("dir/obj", "hello");
  ASSERT_TRUE(e2.ok());
  if (GetParam().etag_changes_with_identical_content) {
    EXPECT_NE(*e2, *e1);
  }
  EXPECT_EQ(store().Head("dir/obj")->etag, *e2);
  EXPECT_EQ(store().Head("dir/obj")->etag, *e2);
  Result<std::string> e3 = store().Put("dir/obj", "bye");
  ASSERT_TRUE(e3.ok());
  EXPECT_NE(*e3, *e2);
  EXPECT_EQ(MustGet(store(), "dir/obj"), "bye");
  EXPECT_EQ(store().Head("dir/obj")->size, 3u);

  // Binary content survives untouched.
  std::string binary;
  for (int i = 0; i < 256; i++) binary.push_back(static_cast<char>(i));
  ASSERT_TRUE(store().Put("bin", binary).ok());
  EXPECT_EQ(MustGet(store(), "bin"), binary);
}

TEST_P(StoreConformanceTest, EmptyObject) {
  Result<std::string> etag = store().Put("empty", "");
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  Result<GetResult> got = store().Get("empty");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "");
  EXPECT_EQ(got->object_size, 0u);
  EXPECT_EQ(got->etag, *etag);
  EXPECT_EQ(store().Head("empty")->size, 0u);
  Result<GetResult> zero = store().Get("empty", ByteRange{0, 0});
  ASSERT_TRUE(zero.ok()) << zero.status().ToString();
  EXPECT_EQ(zero->data, "");
  EXPECT_TRUE(store().Get("empty", ByteRange{0, 1}).status().IsInvalidArgument());
  std::vector<std::string> keys = ListAll(store(), "");
  EXPECT_EQ(keys, std::vector<std::string>{"empty"});
}

TEST_P(StoreConformanceTest, LargeObject) {
  const uint64_t size = GetParam().large_object_bytes;
  Random rnd(TestSeed("StoreConformance.LargeObject"));
  std::string data = rnd.Bytes(size);
  Result<std::string> etag = store().Put("large/object", data);
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  Result<GetResult> got = store().Get("large/object");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->object_size, size);
  EXPECT_TRUE(got->data == data) << "content differs";
  Result<GetResult> tail = store().Get("large/object", ByteRange{size - 100, 1000});
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(tail->data, data.substr(size - 100));
  EXPECT_EQ(tail->object_size, size);
  Result<GetResult> middle = store().Get("large/object", ByteRange{size / 2 + 3, 1 << 20});
  ASSERT_TRUE(middle.ok());
  EXPECT_TRUE(middle->data == data.substr(size / 2 + 3, 1 << 20));
  EXPECT_EQ(store().Head("large/object")->size, size);
}

TEST_P(StoreConformanceTest, RangedReadsAtTheEdges) {
  std::string data;
  for (int i = 0; i < 1000; i++) data.push_back(static_cast<char>('a' + i % 26));
  Result<std::string> etag = store().Put("r", data);
  ASSERT_TRUE(etag.ok());
  struct Case {
    uint64_t offset, length;
    std::string want;
  };
  const Case cases[] = {
      {0, 1, data.substr(0, 1)},      // first byte
      {999, 1, data.substr(999)},     // last byte
      {0, 1000, data},                // exactly everything
      {10, 20, data.substr(10, 20)},  // middle
      {990, 100, data.substr(990)},   // runs past the end: cut
      {0, UINT64_MAX, data},          // huge length: cut
      {0, 0, ""},                     // zero length
      {1000, 0, ""},                  // zero length at the end
      {5000, 0, ""},                  // zero length past the end
  };
  for (const Case& c : cases) {
    Result<GetResult> r = store().Get("r", ByteRange{c.offset, c.length});
    ASSERT_TRUE(r.ok()) << c.offset << "+" << c.length << ": " << r.status().ToString();
    EXPECT_EQ(r->data, c.want) << c.offset << "+" << c.length;
    EXPECT_EQ(r->object_size, 1000u);
    EXPECT_EQ(r->etag, *etag);
  }
  // A range starting at or after the end is InvalidArgument (S3's 416).
  EXPECT_TRUE(store().Get("r", ByteRange{1000, 1}).status().IsInvalidArgument());
  EXPECT_TRUE(store().Get("r", ByteRange{1001, 10}).status().IsInvalidArgument());
  EXPECT_TRUE(store().Get("r", ByteRange{UINT64_MAX, 1}).status().IsInvalidArgument());
}

TEST_P(StoreConformanceTest, MissingKeysAreNotFound) {
  EXPECT_TRUE(store().Get("nope").status().IsNotFound());
  EXPECT_TRUE(store().Get("nope/deeper").status().IsNotFound());
  EXPECT_TRUE(store().Get("nope", ByteRange{0, 10}).status().IsNotFound());
  EXPECT_TRUE(store().Get("nope", ByteRange{0, 0}).status().IsNotFound());
  EXPECT_TRUE(store().Head("nope").status().IsNotFound());
  // A prefix of an existing key is not an object.
  ASSERT_TRUE(store().Put("dir/sub/obj", "x").ok());
  EXPECT_TRUE(store().Get("dir").status().IsNotFound());
  EXPECT_TRUE(store().Get("dir/sub").status().IsNotFound());
  EXPECT_TRUE(store().Head("dir/sub").status().IsNotFound());
  EXPECT_TRUE(store().Get("dir/sub/obj/more").status().IsNotFound());
  ASSERT_TRUE(store().Delete("dir/sub/obj").ok());
  EXPECT_TRUE(store().Get("dir/sub/obj").status().IsNotFound());
  EXPECT_TRUE(store().Head("dir/sub/obj").status().IsNotFound());
}

TEST_P(StoreConformanceTest, IfAbsent) {
  const PutOptions mode = PutOptions::IfAbsent();
  Result<std::string> first = store().Put("m/1", "first", mode);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<std::string> second = store().Put("m/1", "second", mode);
  EXPECT_TRUE(second.status().IsPreconditionFailed()) << second.status().ToString();
  Result<GetResult> got = store().Get("m/1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "first");
  EXPECT_EQ(got->etag, *first);
  // After a delete the key can be created again.
  ASSERT_TRUE(store().Delete("m/1").ok());
  EXPECT_TRUE(store().Put("m/1", "third", mode).ok());
  EXPECT_EQ(MustGet(store(), "m/1"), "third");
  ASSERT_TRUE(store().Delete("m/1").ok());
}

TEST_P(StoreConformanceTest, IfMatch) {
  EXPECT_TRUE(
      store().Put("c", "v", PutOptions::IfMatch("whatever")).status().IsPreconditionFailed())
      << "if-match on a missing key";
  EXPECT_TRUE(store().Get("c").status().IsNotFound());
  Result<std::string> e1 = store().Put("c", "v1");
  ASSERT_TRUE(e1.ok());
  EXPECT_TRUE(
      store().Put("c", "bad", PutOptions::IfMatch(*e1 + "x")).status().IsPreconditionFailed());
  EXPECT_TRUE(store().Put("c", "bad", PutOptions::IfMatch("")).status().IsPreconditionFailed());
  EXPECT_EQ(MustGet(store(), "c"), "v1");
  Result<std::string> e2 = store().Put("c", "v2", PutOptions::IfMatch(*e1));
  ASSERT_TRUE(e2.ok()) << e2.status().ToString();
  EXPECT_NE(*e2, *e1);
  EXPECT_EQ(MustGet(store(), "c"), "v2");
  // The old etag no longer matches, even for identical content.
  EXPECT_TRUE(store().Put("c", "v2", PutOptions::IfMatch(*e1)).status().IsPreconditionFailed());
  Result<std::string> e3 = store().Put("c", "v2", PutOptions::IfMatch(*e2));
  ASSERT_TRUE(e3.ok());
  if (GetParam().etag_changes_with_identical_content) {
    EXPECT_TRUE(store().Put("c", "v3", PutOptions::IfMatch(*e2)).status().IsPreconditionFailed());
  }
  ASSERT_TRUE(store().Delete("c").ok());
  EXPECT_TRUE(store().Put("c", "v4", PutOptions::IfMatch(*e3)).status().IsPreconditionFailed());
}

TEST_P(StoreConformanceTest, IfAbsentRaceHasExactlyOneWinner) {
  const int threads = GetParam().race_threads;
  for (int round = 0; round < 6; round++) {
    const PutOptions mode = PutOptions::IfAbsent();
    std::string key = "race/" + std::to_string(round);
    std::atomic<int> winners{0}, losers{0}, errors{0};
    std::atomic<int> winner_id{-1};
    std::atomic<bool> go{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++) {
      workers.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        Result<std::string> r = store().Put(key, "writer " + std::to_string(t), mode);
        if (r.ok()) {
          winners++;
          winner_id = t;
        } else if (r.status().IsPreconditionFailed()) {
          losers++;
        } else {
          errors++;
          ADD_FAILURE() << r.status().ToString();
        }
      });
    }
    go = true;
    for (auto& w : workers) w.join();
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(losers.load(), threads - 1);
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(MustGet(store(), key), "writer " + std::to_string(winner_id.load()));
  }
}

TEST_P(StoreConformanceTest, IfMatchCasRaceLosesNoUpdate) {
  const int threads = GetParam().race_threads;
  const int increments = GetParam().cas_increments_per_thread;
  ASSERT_TRUE(store().Put("counter", "0").ok());
  std::atomic<int> successes{0}, conflicts{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int done = 0, attempts = 0; done < increments && attempts < 100000; attempts++) {
        Result<GetResult> cur = store().Get("counter");
        if (!cur.ok()) {
          ADD_FAILURE() << cur.status().ToString();
          return;
        }
        // A nonce makes every value unique, as in engine objects: stores may resolve a lost
        // response by comparing bytes (S3), which is only sound for unique values.
        std::string next = std::to_string(std::stoll(cur->data) + 1) + " " + std::to_string(t) +
                           "-" + std::to_string(attempts);
        Result<std::string> r = store().Put("counter", next, PutOptions::IfMatch(cur->etag));
        if (r.ok()) {
          done++;
          successes++;
        } else if (r.status().IsPreconditionFailed()) {
          conflicts++;
        } else {
          ADD_FAILURE() << r.status().ToString();
          return;
        }
      }
    });
  }
  go = true;
  for (auto& w : workers) w.join();
  EXPECT_EQ(successes.load(), threads * increments);
  EXPECT_EQ(std::stoll(MustGet(store(), "counter")), successes.load())
      << "a successful compare-and-swap was lost (" << conflicts.load() << " conflicts)";
}

TEST_P(StoreConformanceTest, ListIsOrderedByteWise) {
  // Keys chosen so that directory-order and byte-order differ: '.' (0x2e) and '-' (0x2d) sort
  // before '/' (0x2f), '0' after it, and multi-byte UTF-8 after ASCII.
  std::vector<std::string> keys = {"d/a",    "d.a",   "d-a", "d0",       "d/b/c", "d/b.c",
                                   "d/b0",   "d/b-c", "e",   "\xc3\xa9", "zz",    "d/b/c.d",
                                   "d/b/c0", "A",     "d/A", "d /x"};
  Random rnd(TestSeed("StoreConformance.ListIsOrderedByteWise"));
  std::vector<std::string> shuffled = keys;
  for (size_t i = shuffled.size(); i > 1; i--) std::swap(shuffled[i - 1], shuffled[rnd.Uniform(i)]);
  for (const std::string& k : shuffled) {
    ASSERT_TRUE(store().Put(k, "value of " + k).ok()) << k;
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(ListAll(store(), ""), keys);
  EXPECT_EQ(ListAll(store(), "", 1), keys);
  EXPECT_EQ(ListAll(store(), "", 3), keys);
  Result<ListResult> all = store().List("");
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->truncated);
  for (const ObjectInfo& o : all->objects) {
    EXPECT_EQ(o.size, ("value of " + o.key).size()) << o.key;
    if (!o.etag.empty()) {
      EXPECT_EQ(o.etag, store().Head(o.key)->etag) << o.key;
    }
  }
}

TEST_P(StoreConformanceTest, ListPrefixStartAfterAndPaging) {
  std::vector<std::string> p_keys;
  for (int i = 0; i < 250; i++) {
    char name[32];
    std::snprintf(name, sizeof(name), "p/%05d", i);
    p_keys.push_back(name);
  }
  for (const std::string& k : p_keys) ASSERT_TRUE(store().Put(k, "x").ok());
  for (const char* k : {"p0", "p.x", "o/1", "q/1", "pp/1"}) ASSERT_TRUE(store().Put(k, "y").ok());

  // Pages of 100: truncated, truncated, last.
  std::string after;
  std::vector<std::string> paged;
  for (int page = 0; page < 3; page++) {
    Result<ListResult> r = store().List("p/", after, 100);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->objects.size(), page < 2 ? 100u : 50u);
    EXPECT_EQ(r->truncated, page < 2);
    for (const ObjectInfo& o : r->objects) paged.push_back(o.key);
    after = paged.back();
  }
  EXPECT_EQ(paged, p_keys);
  // A limit equal to the count is not truncated.
  Result<ListResult> exact = store().List("p/", "", 250);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->objects.size(), 250u);
  EXPECT_FALSE(exact->truncated);
  // Limit 0 means the default page (1000).
  EXPECT_EQ(store().List("p/")->objects.size(), 250u);

  // A prefix that ends inside a segment.
  std::vector<std::string> want(p_keys.begin() + 100, p_keys.begin() + 200);
  EXPECT_EQ(ListAll(store(), "p/001"), want);
  EXPECT_EQ(ListAll(store(), "p/0012"),
            std::vector<std::string>(p_keys.begin() + 120, p_keys.begin() + 130));
  // Prefix "p" covers p/..., p.x, p0 and pp/1, in byte order.
  std::vector<std::string> p_all = {"p.x"};
  p_all.insert(p_all.end(), p_keys.begin(), p_keys.end());
  p_all.push_back("p0");
  p_all.push_back("pp/1");
  EXPECT_EQ(ListAll(store(), "p", 7), p_all);

  // start_after: inside the range, a key that does not exist, before the prefix, past the end.
  Result<ListResult> r = store().List("p/", "p/00123", 2);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "p/00124");
  EXPECT_EQ(r->objects[1].key, "p/00125");
  r = store().List("p/", "p/00123x", 1);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->objects[0].key, "p/00124");
  r = store().List("p/", "a", 1);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->objects[0].key, "p/00000");
  r = store().List("p/", "p/99999");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->objects.empty());
  EXPECT_FALSE(r->truncated);
  r = store().List("p/", "p/", 1);  // start_after equal to the prefix
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->objects[0].key, "p/00000");
  r = store().List("p/", "p0");  // start_after past everything with the prefix
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->objects.empty());
  // A prefix nothing has.
  r = store().List("nothing/");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->objects.empty());
  EXPECT_FALSE(r->truncated);
}

TEST_P(StoreConformanceTest, DeleteIsIdempotent) {
  EXPECT_TRUE(store().Delete("never/was").ok());
  ASSERT_TRUE(store().Put("a/b/c", "1").ok());
  ASSERT_TRUE(store().Put("a/b2", "2").ok());
  EXPECT_TRUE(store().Delete("a/b/c").ok());
  EXPECT_TRUE(store().Delete("a/b/c").ok());
  EXPECT_TRUE(store().Get("a/b/c").status().IsNotFound());
  EXPECT_EQ(ListAll(store(), ""), std::vector<std::string>{"a/b2"});
  // The key can be written again after its parents may have been cleaned up.
  ASSERT_TRUE(store().Put("a/b/c", "3").ok());
  EXPECT_EQ(MustGet(store(), "a/b/c"), "3");

  std::vector<std::string> batch = {"x/1", "x/2", "x/3", "missing/4"};
  for (int i = 0; i < 3; i++) ASSERT_TRUE(store().Put(batch[i], "v").ok());
  EXPECT_TRUE(store().DeleteMany(batch).ok());
  EXPECT_TRUE(store().DeleteMany(batch).ok());
  EXPECT_TRUE(ListAll(store(), "x/").empty());
  EXPECT_EQ(ListAll(store(), ""), (std::vector<std::string>{"a/b/c", "a/b2"}));
}

TEST_P(StoreConformanceTest, UnusualButValidKeys) {
  std::vector<std::string> keys = {
      "with space/a b",
      "unicode/\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87/\xe5\x80\xa4/\xf0\x9f\x99\x82",
      "signs/a+b",
      "signs/100%",
      "signs/%2F",
      "signs/x=y&z",
      "signs/q?a=1#frag",
      "dots/...",
      "dots/.hidden/.x",
      ".cloudkv/not-internal",
      ".tmp/x",
      "tilde/~",
      "quote/'\"",
      "backslash/a\\b",
      std::string("long/") + std::string(200, 'L'),
  };
  for (const std::string& k : keys) {
    Result<std::string> r = store().Put(k, "value of " + k);
    ASSERT_TRUE(r.ok()) << k << ": " << r.status().ToString();
  }
  for (const std::string& k : keys) {
    EXPECT_EQ(MustGet(store(), k), "value of " + k) << k;
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(ListAll(store(), ""), sorted);
  EXPECT_EQ(ListAll(store(), "signs/"),
            (std::vector<std::string>{"signs/%2F", "signs/100%", "signs/a+b", "signs/q?a=1#frag",
                                      "signs/x=y&z"}));
  for (const std::string& k : keys) EXPECT_TRUE(store().Delete(k).ok()) << k;
  EXPECT_TRUE(ListAll(store(), "").empty());
}

TEST_P(StoreConformanceTest, BadKeysAreRejectedAndWriteNothing) {
  const std::vector<std::string> bad = {"",
                                        "/a",
                                        "a/",
                                        "a//b",
                                        "..",
                                        ".",
                                        "a/..",
                                        "../a",
                                        "a/../b",
                                        "a/./b",
                                        std::string("a\0b", 3),
                                        "a\nb",
                                        "a\x7f",
                                        std::string(1025, 'k'),
                                        "a/\x01"};
  for (const std::string& k : bad) {
    std::string shown = k.substr(0, 20);
    EXPECT_TRUE(store().Put(k, "x").status().IsInvalidArgument()) << shown;
    EXPECT_TRUE(store().Put(k, "x", PutOptions::IfAbsent()).status().IsInvalidArgument()) << shown;
    EXPECT_TRUE(store().Put(k, "x", PutOptions::IfMatch("e")).status().IsInvalidArgument())
        << shown;
    EXPECT_TRUE(store().Get(k).status().IsInvalidArgument()) << shown;
    EXPECT_TRUE(store().Head(k).status().IsInvalidArgument()) << shown;
    EXPECT_TRUE(store().Delete(k).IsInvalidArgument()) << shown;
  }
  // A batch with one bad key deletes nothing.
  ASSERT_TRUE(store().Put("good", "v").ok());
  std::vector<std::string> batch = {"good", "a//b"};
  EXPECT_TRUE(store().DeleteMany(batch).IsInvalidArgument());
  EXPECT_EQ(ListAll(store(), ""), std::vector<std::string>{"good"});
}

}  // namespace
}  // namespace cloudkv
