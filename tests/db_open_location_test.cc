// SPDX-License-Identifier: Apache-2.0
// Opening creates nothing it should not (issue #23, item 3): a read-only open, or one that may
// not create, of a location without a database fails with NotFound and leaves no trace; a
// writer open refuses to create a database in a non-empty location that holds none unless
// Options::create_in_non_empty_location says so.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cloudkv/db.h"
#include "cloudkv/object_store.h"
#include "cloudkv/tools.h"
#include "support/temp_dir.h"

namespace cloudkv {
namespace {

namespace fs = std::filesystem;

// Every path below `dir` (hidden ones included), sorted.
std::vector<std::string> Tree(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Options ReadOnly() {
  Options o;
  o.read_only = true;
  return o;
}

TEST(DbOpenLocationTest, ReadOnlyOpenOfMissingDirectoryCreatesNothing) {
  TempDir dir("open-location");
  const std::string path = dir.path() + "/a/b/db";
  auto db = DB::Open("file://" + path, ReadOnly());
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsNotFound()) << db.status().ToString();
  EXPECT_NE(db.status().ToString().find("no database at"), std::string::npos)
      << db.status().ToString();
  EXPECT_FALSE(fs::exists(dir.path() + "/a"));
  EXPECT_TRUE(Tree(dir.path()).empty());
}

TEST(DbOpenLocationTest, ReadOnlyOpenOfForeignDirectoryLeavesItUntouched) {
  TempDir dir("open-location");
  { std::ofstream(dir.path() + "/README") << "not a database\n"; }
  const std::vector<std::string> before = Tree(dir.path());
  for (bool read_only : {true, false}) {
    Options o;
    o.read_only = read_only;
    o.create_if_missing = false;
    auto db = DB::Open("file://" + dir.path(), o);
    ASSERT_FALSE(db.ok());
    EXPECT_TRUE(db.status().IsNotFound()) << db.status().ToString();
  }
  // Neither do the tools (inspect, verify).
  EXPECT_FALSE(tools::InspectManifest("file://" + dir.path(), std::nullopt).ok());
  EXPECT_FALSE(tools::Verify("file://" + dir.path(), {}).ok());
  EXPECT_EQ(Tree(dir.path()), before);
}

TEST(DbOpenLocationTest, ReadOnlyOpenOfEmptyDirectoryLeavesItEmpty) {
  TempDir dir("open-location");
  auto db = DB::Open("file://" + dir.path(), ReadOnly());
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsNotFound()) << db.status().ToString();
  EXPECT_TRUE(Tree(dir.path()).empty());
}

TEST(DbOpenLocationTest, WriterRefusesNonEmptyLocationWithoutDatabase) {
  TempDir dir("open-location");
  { std::ofstream(dir.path() + "/photo.jpg") << "jpeg"; }
  const std::vector<std::string> before = Tree(dir.path());
  auto db = DB::Open("file://" + dir.path(), Options());
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsInvalidArgument()) << db.status().ToString();
  EXPECT_NE(db.status().ToString().find("photo.jpg"), std::string::npos) << db.status().ToString();
  EXPECT_NE(db.status().ToString().find("create_in_non_empty_location"), std::string::npos);
  // No manifest was written (the store's own .cloudkv/ may be there, nothing else).
  EXPECT_FALSE(fs::exists(dir.path() + "/manifest"));

  Options allow;
  allow.create_in_non_empty_location = true;
  db = DB::Open("file://" + dir.path(), allow);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Put({}, "k", "v").ok());
  ASSERT_TRUE((*db)->Close().ok());
  db->reset();
  // Once it holds a database, a plain open opens it.
  db = DB::Open("file://" + dir.path(), Options());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->Get({}, "k").value_or("<missing>"), "v");
  ASSERT_TRUE((*db)->Close().ok());
}

TEST(DbOpenLocationTest, WriterCreatesInEmptyOrMissingLocation) {
  TempDir dir("open-location");
  for (const std::string& path : {dir.path() + "/new/db", dir.path() + "/new"}) {
    // The second is not empty (it holds the first database) but /new itself has no manifest:
    // only its subdirectory does.
    auto db = DB::Open("file://" + path, Options());
    if (path == dir.path() + "/new") {
      ASSERT_FALSE(db.ok());
      EXPECT_TRUE(db.status().IsInvalidArgument()) << db.status().ToString();
      continue;
    }
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Close().ok());
  }
}

TEST(DbOpenLocationTest, MemoryStorePrefixRules) {
  auto store = OpenObjectStore("memory://open-location-foreign?private=true");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put("someone/else", "x").ok());
  Options o;
  o.store = *store;
  auto db = DB::Open("memory://open-location-foreign", o);
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsInvalidArgument()) << db.status().ToString();
  o.create_in_non_empty_location = true;
  db = DB::Open("memory://open-location-foreign", o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Close().ok());
}

}  // namespace
}  // namespace cloudkv
