// SPDX-License-Identifier: Apache-2.0
// Options::Validate: every field with a range is checked, and the error names the field and
// its value; DB::Open checks the options before it touches the store.
#include "cloudkv/options.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "cloudkv/db.h"
#include "cloudkv/object_store.h"
#include "support/temp_dir.h"

namespace cloudkv {
namespace {

TEST(OptionsValidate, DefaultsAreValid) {
  EXPECT_TRUE(Options{}.Validate().ok()) << Options{}.Validate().ToString();
}

TEST(OptionsValidate, EachBadFieldIsNamedWithItsValue) {
  struct Case {
    std::function<void(Options*)> set;
    std::string message;  // the start of the expected message
  };
  const std::vector<Case> cases = {
      {[](Options* o) { o->memtable_bytes = 100; }, "Options::memtable_bytes = 100: "},
      {[](Options* o) { o->max_immutable_memtables = 0; }, "Options::max_immutable_memtables = 0"},
      {[](Options* o) { o->max_key_bytes = 0; }, "Options::max_key_bytes = 0: "},
      {[](Options* o) { o->max_batch_bytes = 0; }, "Options::max_batch_bytes = 0: "},
      {[](Options* o) { o->max_wal_puts_per_second = std::nan(""); },
       "Options::max_wal_puts_per_second = "},
      {[](Options* o) { o->max_inflight_wal_uploads = 0; },
       "Options::max_inflight_wal_uploads = 0: "},
      {[](Options* o) { o->wal_upload_max_attempts = -1; },
       "Options::wal_upload_max_attempts = -1: "},
      {[](Options* o) { o->block_size = 16; }, "Options::block_size = 16: "},
      {[](Options* o) { o->compression = static_cast<Compression>(9); },
       "Options::compression = 9: "},
      {[](Options* o) {
         o->disk_cache_dir = "/tmp/c";
         o->disk_cache_bytes = 1000;
       },
       "Options::disk_cache_bytes = 1000: "},
      {[](Options* o) {
         o->disk_cache_dir = "/tmp/c";
         TempDir dir("options-disk-cache");
         o->disk_cache = NewDiskCache(dir.path(), 1 << 20).value();
       },
       "Options::disk_cache_dir = '/tmp/c': "},
      {[](Options* o) { o->num_levels = 1; }, "Options::num_levels = 1: must be in 2..64"},
      {[](Options* o) { o->num_levels = 65; }, "Options::num_levels = 65: must be in 2..64"},
      {[](Options* o) { o->l0_compaction_trigger = 0; }, "Options::l0_compaction_trigger = 0: "},
      {[](Options* o) { o->l0_slowdown_writes_trigger = -3; },
       "Options::l0_slowdown_writes_trigger = -3: "},
      {[](Options* o) { o->l0_stop_writes_trigger = 0; }, "Options::l0_stop_writes_trigger = 0: "},
      {[](Options* o) { o->level_size_ratio = 1; }, "Options::level_size_ratio = 1: "},
      {[](Options* o) { o->target_sst_bytes = 0; }, "Options::target_sst_bytes = 0: "},
      {[](Options* o) { o->level1_target_bytes = 0; }, "Options::level1_target_bytes = 0: "},
      {[](Options* o) { o->max_subcompactions = 0; }, "Options::max_subcompactions = 0: "},
      {[](Options* o) { o->gc_min_age_ms = o->max_clock_skew_ms; },
       "Options::gc_min_age_ms = 30000: must exceed max_clock_skew_ms (30000)"},
  };
  for (const Case& c : cases) {
    Options o;
    c.set(&o);
    Status s = o.Validate();
    EXPECT_TRUE(s.IsInvalidArgument()) << c.message << ": " << s.ToString();
    EXPECT_EQ(s.message().rfind(c.message, 0), 0u) << s.message();
  }
}

TEST(OptionsValidate, LimitsAtTheirBoundsAreValid) {
  Options o;
  o.memtable_bytes = 4096;
  o.block_size = 256;
  o.max_key_bytes = 1;
  o.max_immutable_memtables = 1;
  o.num_levels = 2;
  o.level_size_ratio = 2;
  o.l0_compaction_trigger = o.l0_slowdown_writes_trigger = o.l0_stop_writes_trigger = 1;
  o.max_inflight_wal_uploads = 1;
  o.max_wal_puts_per_second = 0;
  o.gc_min_age_ms = o.max_clock_skew_ms + 1;
  EXPECT_TRUE(o.Validate().ok()) << o.Validate().ToString();
  o.num_levels = 64;
  o.max_clock_skew_ms = 0;
  o.gc_min_age_ms = 1;
  EXPECT_TRUE(o.Validate().ok()) << o.Validate().ToString();
}

// DB::Open checks the options first: nothing is created in the store, and a bad option is
// reported even where the URL is bad too.
TEST(OptionsValidate, OpenChecksOptionsBeforeTheStore) {
  Options o;
  o.num_levels = 0;
  auto db = DB::Open("memory://options-validate-first", o);
  ASSERT_TRUE(db.status().IsInvalidArgument()) << db.status().ToString();
  EXPECT_NE(db.status().message().find("num_levels = 0"), std::string::npos);
  auto store = OpenObjectStore("memory://options-validate-first");
  ASSERT_TRUE(store.ok());
  auto listed = (*store)->List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->objects.empty()) << "an invalid open wrote " << listed->objects[0].key;

  auto bad_url = DB::Open("nope://x", o);
  EXPECT_NE(bad_url.status().message().find("num_levels"), std::string::npos)
      << bad_url.status().ToString();
}

}  // namespace
}  // namespace cloudkv
