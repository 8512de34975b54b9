// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "cloudkv/object_store.h"
#include "cloudkv/write_batch.h"
#include "format/dbformat.h"
#include "store/url.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/random.h"

namespace cloudkv {
namespace {

TEST(Coding, VarintRoundTripAndTruncation) {
  Random rnd(TestSeed("Coding.VarintRoundTripAndTruncation"));
  std::string buf;
  std::vector<uint64_t> values = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX};
  for (int i = 0; i < 1000; i++) values.push_back(rnd.Next64() >> rnd.Uniform(64));
  for (uint64_t v : values) PutVarint64(&buf, v);
  std::string_view in = buf;
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(GetVarint64(&in, &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(in.empty());
  // Truncated and overlong encodings are rejected and consume nothing.
  std::string trunc = "\xff\xff";
  std::string_view t = trunc;
  uint64_t v;
  EXPECT_FALSE(GetVarint64(&t, &v));
  EXPECT_EQ(t.size(), 2u);
  std::string overlong(11, '\xff');
  std::string_view o = overlong;
  EXPECT_FALSE(GetVarint64(&o, &v));
  uint32_t v32;
  std::string big;
  PutVarint64(&big, 1ull << 40);
  std::string_view b = big;
  EXPECT_FALSE(GetVarint32(&b, &v32));
}

TEST(Coding, FixedAndLengthPrefixed) {
  std::string buf;
  PutFixed32(&buf, 0xdeadbeef);
  PutFixed64(&buf, 0x0123456789abcdefull);
  PutLengthPrefixed(&buf, "hello");
  std::string_view in = buf;
  uint32_t a;
  uint64_t b;
  std::string_view s;
  ASSERT_TRUE(GetFixed32(&in, &a));
  ASSERT_TRUE(GetFixed64(&in, &b));
  ASSERT_TRUE(GetLengthPrefixed(&in, &s));
  EXPECT_EQ(a, 0xdeadbeefu);
  EXPECT_EQ(b, 0x0123456789abcdefull);
  EXPECT_EQ(s, "hello");
  std::string bad;
  PutVarint32(&bad, 10);
  bad += "abc";
  std::string_view bi = bad;
  EXPECT_FALSE(GetLengthPrefixed(&bi, &s));
}

TEST(Hash, ChecksumDetectsFlip) {
  std::string data(1000, 'x');
  uint64_t c = Checksum64(data);
  data[500] ^= 1;
  EXPECT_NE(c, Checksum64(data));
  EXPECT_EQ(Checksum64(data), Checksum64(data));
}

TEST(Status, CodesAndContext) {
  Status s = Status::IOError("disk", true);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.WithContext("put x").ToString(), "IOError (retryable): put x: disk");
  EXPECT_TRUE(Status::OK().WithContext("x").ok());
  Result<int> r(7);
  EXPECT_EQ(*r, 7);
  Result<int> e(Status::NotFound("k"));
  EXPECT_TRUE(e.status().IsNotFound());
  EXPECT_EQ(e.value_or(3), 3);
}

TEST(InternalKey, Ordering) {
  std::string a1 = MakeInternalKey("a", 5, kTypeValue);
  std::string a2 = MakeInternalKey("a", 9, kTypeValue);
  std::string b = MakeInternalKey("b", 1, kTypeDeletion);
  EXPECT_LT(CompareInternalKeys(a2, a1), 0);  // newer first
  EXPECT_LT(CompareInternalKeys(a1, b), 0);
  ParsedInternalKey p;
  ASSERT_TRUE(ParseInternalKey(b, &p));
  EXPECT_EQ(p.user_key, "b");
  EXPECT_EQ(p.sequence, 1u);
  EXPECT_EQ(p.type, kTypeDeletion);
  EXPECT_FALSE(ParseInternalKey("short", &p));
}

TEST(WriteBatch, IterateAndRejectDamage) {
  WriteBatch batch;
  batch.Put("k1", "v1");
  batch.Delete("k2");
  batch.DeleteRange("a", "c");
  struct Rec : WriteBatch::Handler {
    std::string log;
    Status Put(std::string_view k, std::string_view v) override {
      log += "P" + std::string(k) + "=" + std::string(v) + ";";
      return Status::OK();
    }
    Status Delete(std::string_view k) override {
      log += "D" + std::string(k) + ";";
      return Status::OK();
    }
    Status DeleteRange(std::string_view b, std::string_view e) override {
      log += "R" + std::string(b) + "-" + std::string(e) + ";";
      return Status::OK();
    }
  } rec;
  ASSERT_TRUE(batch.Iterate(&rec).ok());
  EXPECT_EQ(rec.log, "Pk1=v1;Dk2;Ra-c;");
  WriteBatch copy;
  EXPECT_TRUE(copy.SetData(batch.Data(), 3).ok());
  EXPECT_TRUE(copy.SetData(batch.Data(), 2).IsCorruption());
  EXPECT_TRUE(copy.SetData(batch.Data().substr(0, batch.ByteSize() - 1), 3).IsCorruption());
  std::string junk = "\x09xyz";
  EXPECT_TRUE(copy.SetData(junk, 1).IsCorruption());
}

TEST(Url, ParsesEachScheme) {
  auto m = ParseStoreUrl("memory://t1?faults=1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name, "t1");
  EXPECT_EQ(m->params.at("faults"), "1");
  auto f = ParseStoreUrl("file://./data?simulate=s3");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->path, "./data");
  auto a = ParseStoreUrl("file:///var/db%20x");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->path, "/var/db x");
  auto s = ParseStoreUrl("s3://my-bucket/dbs/orders/?region=eu-west-1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->bucket, "my-bucket");
  EXPECT_EQ(s->prefix, "dbs/orders/");
  EXPECT_EQ(s->params.at("region"), "eu-west-1");
}

TEST(Url, RejectsMalformedNamingThePart) {
  struct Case {
    const char* url;
    const char* mentions;
  } cases[] = {
      {"", "empty"},
      {"data", "missing scheme"},
      {"ftp://x", "unknown scheme 'ftp'"},
      {"memory://", "needs a name"},
      {"file://", "needs a path"},
      {"file://relative", "must be absolute"},
      {"s3://", "needs a bucket"},
      {"s3://A_B/x", "invalid bucket name"},
      {"s3://bucket/a//b", "empty segment"},
      {"s3://bucket//x", "empty segment"},  // found by fuzz/store_url_fuzzer
      // Dot segments would be normalised (by libcurl or the server) into another path, or
      // bucket, than the one signed.
      {"s3://bucket/a/../other", "'.' or '..' segment"},
      {"s3://bucket/..", "'.' or '..' segment"},
      {"s3://bucket/./x", "'.' or '..' segment"},
      {"s3://bucket/a/%2e%2e/b", "'.' or '..' segment"},
      {"s3://bucket/a%0Ab", "control character"},
      // Percent-decoding happens after the control-character check of the raw URL.
      {"file:///tmp/db%00x", "NUL or a control character"},
      {"file:///tmp/db%0Aforged", "NUL or a control character"},
      {"memory://a%0Db", "NUL or a control character"},
      {"memory://x?=1", "empty name"},
      {"memory://x?a=1&a=2", "given twice"},
      {"memory://x?a=%zz", "percent-escape"},
  };
  for (const auto& c : cases) {
    auto r = ParseStoreUrl(c.url);
    ASSERT_FALSE(r.ok()) << c.url;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << c.url;
    EXPECT_NE(r.status().message().find(c.mentions), std::string::npos)
        << c.url << " -> " << r.status().ToString();
  }
  auto unknown = OpenObjectStore("memory://x?bogus=1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown option 'bogus'"), std::string::npos);
}

TEST(ObjectKey, Validation) {
  EXPECT_TRUE(ValidateObjectKey("wal/0001.wal").ok());
  EXPECT_TRUE(ValidateObjectKey("a b/ü+%=").ok());
  for (std::string bad : {std::string(""), std::string("/a"), std::string("a/"),
                          std::string("a//b"), std::string("a/../b"), std::string("./a"),
                          std::string("a\0b", 3), std::string("a\nb"), std::string(1025, 'x')}) {
    EXPECT_TRUE(ValidateObjectKey(bad).IsInvalidArgument()) << bad;
  }
}

}  // namespace
}  // namespace cloudkv
