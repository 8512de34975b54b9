// SPDX-License-Identifier: Apache-2.0
// ctest-labels: s3
// The engine on the real S3 server that `make test` starts (scripts/s3-server): recovery from the
// store alone, fencing of a zombie writer, and a randomized run checked against a std::map.
// Without S3_ENDPOINT the tests are skipped loudly, and fail when CI=true.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "cloudkv/db.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class DBOnS3 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Env("S3_ENDPOINT").empty()) {
      if (!Env("CI").empty())
        FAIL() << "S3_ENDPOINT is not set but CI=true: the S3 server must run";
      GTEST_SKIP() << "\n*** S3 ENGINE TESTS SKIPPED: S3_ENDPOINT is not set. Start the server "
                      "with: eval \"$(scripts/s3-server start)\" ***\n";
    }
    setenv("AWS_ACCESS_KEY_ID", Env("S3_ACCESS_KEY_ID").c_str(), 1);
    setenv("AWS_SECRET_ACCESS_KEY", Env("S3_SECRET_ACCESS_KEY").c_str(), 1);
    setenv("AWS_REGION", Env("S3_REGION").empty() ? "us-east-1" : Env("S3_REGION").c_str(), 1);
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    url_ = "s3://" + Env("S3_BUCKET") + "/dbtest/" + name + "-" + std::to_string(RandomSeed()) +
           "?endpoint=" + Env("S3_ENDPOINT") + "&path_style=true";
  }

  std::unique_ptr<DB> Open() {
    Options o;
    o.memtable_bytes = 32 * 1024;
    auto db = DB::Open(url_, o);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  std::string url_;
};

TEST_F(DBOnS3, WritesFlushesAndRecoversFromTheStoreAlone) {
  Random rnd(TestSeed("DBOnS3.WritesFlushesAndRecoversFromTheStoreAlone"));
  std::map<std::string, std::string> model;
  for (int round = 0; round < 3; round++) {
    auto db = Open();
    ASSERT_TRUE(db);
    for (const auto& [k, v] : model) ASSERT_EQ((*db).Get({}, k).value_or("<absent>"), v);
    WriteBatch batch;
    for (int i = 0; i < 300; i++) {
      std::string k = "k" + std::to_string(rnd.Uniform(200));
      std::string v = rnd.Printable(rnd.Uniform(150));
      batch.Put(k, v);
      model[k] = v;
      if (batch.Count() == 20) {
        ASSERT_TRUE(db->Write({}, batch).ok());
        batch.Clear();
      }
    }
    ASSERT_TRUE(db->Write({}, batch).ok());
    if (round == 1) {
      ASSERT_TRUE(db->Flush().ok());
    }
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = Open();
  ASSERT_TRUE(db);
  auto it = db->NewIterator({});
  auto expect = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expect) {
    ASSERT_NE(expect, model.end());
    EXPECT_EQ(it->key(), expect->first);
    EXPECT_EQ(it->value(), expect->second);
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_EQ(expect, model.end());
}

TEST_F(DBOnS3, SecondWriterFencesTheFirst) {
  auto first = Open();
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->Put({}, "a", "from-first").ok());
  auto second = Open();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->Get({}, "a").value_or("<absent>"), "from-first");
  Status zombie = first->Put({}, "b", "zombie");
  EXPECT_TRUE(zombie.IsFenced()) << zombie.ToString();
  ASSERT_TRUE(second->Put({}, "b", "from-second").ok());
  first.reset();
  ASSERT_TRUE(second->Close().ok());
  auto third = Open();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->Get({}, "b").value_or("<absent>"), "from-second");
}

}  // namespace
}  // namespace cloudkv
