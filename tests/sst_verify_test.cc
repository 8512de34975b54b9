// SPDX-License-Identifier: Apache-2.0
// VerifySstContents (format/sst_verify.h) and SstReader::OpenFromBytes: an intact SST verifies
// with totals that match what was written; each kind of damage is reported with its offset.
#include "format/sst_verify.h"

#include <gtest/gtest.h>

#include "format/sst_builder.h"
#include "format/sst_format.h"

namespace cloudkv {
namespace {

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%05d", i);
  return buf;
}

// 2,000 entries in many 512-byte blocks: puts with sequence 1000 + i, every tenth a deletion,
// and one range tombstone.
std::string BuildSst(SstProperties* props) {
  SstBuilderOptions options;
  options.block_size = 512;
  SstBuilder b(options, 3, 0x1234, 77);
  for (int i = 0; i < 2000; i++) {
    const bool del = i % 10 == 0;
    b.Add(MakeInternalKey(Key(i), 1000 + i, del ? kTypeDeletion : kTypeValue),
          del ? "" : "value-" + std::to_string(i));
  }
  b.AddRangeTombstone(Key(5), Key(9), 5000);
  auto sst = b.Finish(props);
  EXPECT_TRUE(sst.ok()) << sst.status().ToString();
  return sst.ok() ? *sst : "";
}

TEST(SstVerify, IntactSstVerifiesWithTheRightTotals) {
  SstProperties props;
  auto bytes = std::make_shared<const std::string>(BuildSst(&props));
  auto reader = SstReader::OpenFromBytes("sst/t.sst", bytes);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_GT((*reader)->num_data_blocks(), 10u);
  LookupResult found;
  ASSERT_TRUE((*reader)->Get(Key(7), kMaxSequenceNumber, &found).ok());
  EXPECT_EQ(found.state, LookupState::kFound);

  SstVerifyResult r = VerifySstContents(**reader, *bytes);
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  EXPECT_TRUE(r.blocks_decoded);
  EXPECT_EQ(r.entries, 2000u);
  EXPECT_EQ(r.deletions, 200u);
  EXPECT_EQ(r.range_deletions, 1u);
  EXPECT_EQ(r.min_seq, 1000u);
  EXPECT_EQ(r.max_seq, 5000u);
  EXPECT_EQ(r.smallest_key, props.smallest_key);
  EXPECT_EQ(r.largest_key, props.largest_key);
}

TEST(SstVerify, AFlippedByteInADataBlockIsReportedWithItsOffset) {
  SstProperties props;
  std::string bytes = BuildSst(&props);
  auto intact = SstReader::OpenFromBytes("sst/t.sst", std::make_shared<const std::string>(bytes));
  ASSERT_TRUE(intact.ok());
  const BlockHandle h = (*intact)->block_handle(3);
  bytes[h.offset + 10] ^= 0x40;  // inside data block 3: the metadata still opens
  auto damaged = std::make_shared<const std::string>(bytes);
  auto reader = SstReader::OpenFromBytes("sst/t.sst", damaged);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  SstVerifyResult r = VerifySstContents(**reader, *damaged);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("at offset " + std::to_string(h.offset)), std::string::npos)
      << r.problems[0];
  EXPECT_NE(r.problems[0].find("data block 3"), std::string::npos) << r.problems[0];
  EXPECT_FALSE(r.blocks_decoded);
}

TEST(SstVerify, DamagedMetadataFailsToOpenNamingTheObject) {
  SstProperties props;
  std::string bytes = BuildSst(&props);
  bytes[bytes.size() - kSstFooterSize - 3] ^= 0x01;  // inside the index, under the checksum
  auto reader = SstReader::OpenFromBytes("sst/t.sst", std::make_shared<const std::string>(bytes));
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.status().IsCorruption()) << reader.status().ToString();
  EXPECT_NE(reader.status().ToString().find("sst/t.sst"), std::string::npos);
}

}  // namespace
}  // namespace cloudkv
