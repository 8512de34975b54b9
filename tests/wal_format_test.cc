// SPDX-License-Identifier: Apache-2.0
#include "format/wal_format.h"

#include <gtest/gtest.h>

#include "util/coding.h"
#include "util/hash.h"
#include "util/random.h"

namespace cloudkv {
namespace {

// Hand-encoding of the format (docs/format-wal.md), so tests can build objects the builder
// refuses to produce and check that the decoder rejects them even with valid checksums.
std::string RawHeader(uint64_t id, uint32_t flags = 0, uint32_t version = kWalFormatVersion) {
  std::string out(kWalMagic);
  PutFixed32(&out, version);
  PutFixed32(&out, flags);
  PutFixed64(&out, id);
  PutFixed64(&out, 7);   // epoch
  PutFixed64(&out, 42);  // nonce
  return out;
}
void RawRecord(std::string* out, uint64_t first_seq, uint64_t time, uint32_t count,
               std::string_view data) {
  size_t start = out->size();
  PutFixed64(out, first_seq);
  PutFixed64(out, time);
  PutFixed32(out, count);
  PutFixed32(out, static_cast<uint32_t>(data.size()));
  out->append(data);
  PutFixed32(out, Checksum32(std::string_view(*out).substr(start)));
}
std::string RawFinish(std::string body, uint32_t record_count) {
  PutFixed32(&body, record_count);
  PutFixed64(&body, Checksum64(body));
  return body;
}

WriteBatch MakeBatch(Random* rnd, int records) {
  WriteBatch b;
  for (int i = 0; i < records; i++) {
    switch (rnd->Uniform(3)) {
      case 0:
        b.Put(rnd->Bytes(rnd->Uniform(20)), rnd->Bytes(rnd->Uniform(100)));
        break;
      case 1:
        b.Delete(rnd->Bytes(rnd->Uniform(20)));
        break;
      default:
        b.DeleteRange(rnd->Bytes(5), rnd->Bytes(5));
    }
  }
  return b;
}

TEST(WalFormat, ObjectKeys) {
  EXPECT_EQ(WalObjectKey(0), "wal/00000000000000000000.wal");
  EXPECT_EQ(WalObjectKey(1234), "wal/00000000000000001234.wal");
  EXPECT_EQ(WalObjectKey(UINT64_MAX), "wal/18446744073709551615.wal");
  for (uint64_t id : {uint64_t{0}, uint64_t{1}, uint64_t{99999}, UINT64_MAX}) {
    auto parsed = ParseWalObjectKey(WalObjectKey(id));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, id);
  }
  EXPECT_LT(WalObjectKey(9), WalObjectKey(10));  // keys sort in id order
  for (const char* bad :
       {"", "wal/", "wal/1.wal", "wal/0000000000000000001.wal", "wal/000000000000000000001.wal",
        "sst/00000000000000000001.wal", "wal/00000000000000000001.sst",
        "wal/0000000000000000000a.wal", "wal/-0000000000000000001.wal",
        "wal/18446744073709551616.wal", "wal/99999999999999999999.wal"}) {
    auto parsed = ParseWalObjectKey(bad);
    EXPECT_TRUE(parsed.status().IsInvalidArgument()) << bad;
  }
}

TEST(WalFormat, RoundTrip) {
  Random rnd(TestSeed("WalFormat.RoundTrip"));
  WalObjectBuilder builder(77, 3, 0xabcdef);
  EXPECT_EQ(builder.num_batches(), 0u);
  EXPECT_EQ(builder.size_bytes(), kWalHeaderBytes + kWalTrailerBytes);
  std::vector<WriteBatch> batches;
  std::vector<SequenceNumber> seqs;
  std::vector<uint64_t> times;
  SequenceNumber seq = 1000;
  uint64_t time = 5'000'000;
  for (int i = 0; i < 20; i++) {
    batches.push_back(MakeBatch(&rnd, static_cast<int>(rnd.Range(1, 10))));
    seq += rnd.Uniform(3);  // gaps are allowed
    time += rnd.Uniform(2);
    seqs.push_back(seq);
    times.push_back(time);
    size_t before = builder.size_bytes();
    builder.AddBatch(seq, time, batches.back());
    EXPECT_EQ(builder.size_bytes(),
              before + kWalRecordHeaderBytes + kWalRecordTrailerBytes + batches.back().ByteSize());
    seq += batches.back().Count();
    EXPECT_EQ(builder.next_sequence(), seq);
  }
  EXPECT_EQ(builder.num_batches(), 20u);
  size_t expected_size = builder.size_bytes();
  std::string bytes = builder.Finish();
  EXPECT_EQ(bytes.size(), expected_size);

  auto decoded = DecodeWalObject(WalObjectKey(77), bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->id, 77u);
  EXPECT_EQ(decoded->epoch, 3u);
  EXPECT_EQ(decoded->nonce, 0xabcdefu);
  EXPECT_FALSE(decoded->fence);
  ASSERT_EQ(decoded->batches.size(), batches.size());
  for (size_t i = 0; i < batches.size(); i++) {
    const WalBatch& b = decoded->batches[i];
    EXPECT_EQ(b.first_sequence, seqs[i]);
    EXPECT_EQ(b.commit_time_micros, times[i]);
    EXPECT_EQ(b.count, batches[i].Count());
    EXPECT_EQ(b.data, batches[i].Data());
    WriteBatch restored;
    EXPECT_TRUE(restored.SetData(b.data, b.count).ok());
  }
}

TEST(WalFormat, FenceAndEmptyObject) {
  std::string fence = EncodeFence(12, 9, 5);
  auto decoded = DecodeWalObject(WalObjectKey(12), fence);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(decoded->fence);
  EXPECT_EQ(decoded->epoch, 9u);
  EXPECT_EQ(decoded->nonce, 5u);
  EXPECT_TRUE(decoded->batches.empty());

  WalObjectBuilder empty(13, 9, 6);
  auto e = DecodeWalObject(WalObjectKey(13), empty.Finish());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_FALSE(e->fence);
  EXPECT_TRUE(e->batches.empty());
}

void ExpectCorruption(std::string_view key, std::string_view bytes, std::string_view what) {
  auto decoded = DecodeWalObject(key, bytes);
  ASSERT_FALSE(decoded.ok()) << what;
  EXPECT_TRUE(decoded.status().IsCorruption()) << what << ": " << decoded.status().ToString();
  EXPECT_NE(decoded.status().message().find(key), std::string::npos)
      << what << ": " << decoded.status().ToString();
  EXPECT_NE(decoded.status().message().find("offset"), std::string::npos)
      << decoded.status().ToString();
}

TEST(WalFormat, EveryByteFlipAndTruncationIsCorruption) {
  Random rnd(TestSeed("WalFormat.EveryByteFlipAndTruncationIsCorruption"));
  WalObjectBuilder builder(5, 1, 2);
  builder.AddBatch(10, 100, MakeBatch(&rnd, 3));
  builder.AddBatch(13, 101, MakeBatch(&rnd, 2));
  const std::string good = builder.Finish();
  const std::string key = WalObjectKey(5);
  ASSERT_TRUE(DecodeWalObject(key, good).ok());
  for (size_t i = 0; i < good.size(); i++) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      ExpectCorruption(key, bad, "flip at " + std::to_string(i));
    }
  }
  for (size_t len = 0; len < good.size(); len++) {
    ExpectCorruption(key, std::string_view(good).substr(0, len),
                     "truncate to " + std::to_string(len));
  }
  ExpectCorruption(key, good + "x", "extra byte");

  std::string fence = EncodeFence(5, 1, 2);
  for (size_t i = 0; i < fence.size(); i++) {
    std::string bad = fence;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    ExpectCorruption(key, bad, "fence flip at " + std::to_string(i));
  }
}

TEST(WalFormat, SemanticDamageWithValidChecksums) {
  const std::string key = WalObjectKey(8);
  WriteBatch one;
  one.Put("k", "v");
  WriteBatch two;
  two.Put("a", "1");
  two.Delete("b");

  // Sanity: the hand encoder agrees with the builder.
  {
    std::string body = RawHeader(8);
    RawRecord(&body, 10, 100, 1, one.Data());
    WalObjectBuilder builder(8, 7, 42);
    builder.AddBatch(10, 100, one);
    ASSERT_EQ(RawFinish(body, 1), builder.Finish());
  }
  // The id in the object differs from the key's.
  ExpectCorruption(WalObjectKey(9), RawFinish(RawHeader(8), 0), "id mismatch");
  // Trailer record count differs from the records present.
  {
    std::string body = RawHeader(8);
    RawRecord(&body, 10, 100, 1, one.Data());
    ExpectCorruption(key, RawFinish(body, 2), "trailer count");
    ExpectCorruption(key, RawFinish(body, 0), "trailer count 0");
  }
  // A batch whose record count disagrees with its data.
  {
    std::string body = RawHeader(8);
    RawRecord(&body, 10, 100, 3, two.Data());
    ExpectCorruption(key, RawFinish(body, 1), "batch count");
    std::string body1 = RawHeader(8);
    RawRecord(&body1, 10, 100, 1, two.Data());
    ExpectCorruption(key, RawFinish(body1, 1), "batch count low");
  }
  // Empty batch.
  {
    std::string body = RawHeader(8);
    RawRecord(&body, 10, 100, 0, "");
    ExpectCorruption(key, RawFinish(body, 1), "empty batch");
  }
  // Overlapping or decreasing sequences.
  {
    std::string body = RawHeader(8);
    RawRecord(&body, 10, 100, 2, two.Data());
    RawRecord(&body, 11, 100, 1, one.Data());
    ExpectCorruption(key, RawFinish(body, 2), "overlapping sequences");
    std::string body2 = RawHeader(8);
    RawRecord(&body2, 10, 100, 1, one.Data());
    RawRecord(&body2, 5, 100, 1, one.Data());
    ExpectCorruption(key, RawFinish(body2, 2), "decreasing sequences");
    std::string body3 = RawHeader(8);
    RawRecord(&body3, kMaxSequenceNumber, 100, 2, two.Data());
    ExpectCorruption(key, RawFinish(body3, 1), "sequence overflow");
    std::string ok = RawHeader(8);
    RawRecord(&ok, 10, 100, 2, two.Data());
    RawRecord(&ok, 12, 100, 1, one.Data());
    EXPECT_TRUE(DecodeWalObject(key, RawFinish(ok, 2)).ok());
  }
  // Commit time going backwards.
  {
    std::string body = RawHeader(8);
    RawRecord(&body, 10, 100, 1, one.Data());
    RawRecord(&body, 11, 99, 1, one.Data());
    ExpectCorruption(key, RawFinish(body, 2), "time backwards");
  }
  // Fence with batches, unknown flags, unknown version.
  {
    std::string body = RawHeader(8, /*flags=*/1);
    RawRecord(&body, 10, 100, 1, one.Data());
    ExpectCorruption(key, RawFinish(body, 1), "fence with batches");
    ExpectCorruption(key, RawFinish(RawHeader(8, /*flags=*/2), 0), "unknown flags");
    ExpectCorruption(key, RawFinish(RawHeader(8, 0, /*version=*/2), 0), "version");
  }
  // Record length running past the end, with a consistent object checksum.
  {
    std::string body = RawHeader(8);
    RawRecord(&body, 10, 100, 1, one.Data());
    EncodeFixed32(body.data() + kWalHeaderBytes + 20, 1000);
    ExpectCorruption(key, RawFinish(body, 1), "record length");
  }
}

TEST(WalFormat, NotAWalKey) {
  auto decoded = DecodeWalObject("sst/x.sst", EncodeFence(1, 1, 1));
  EXPECT_TRUE(decoded.status().IsInvalidArgument());
}

}  // namespace
}  // namespace cloudkv
