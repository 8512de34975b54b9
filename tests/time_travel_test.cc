// SPDX-License-Identifier: Apache-2.0
// Time travel (docs/time-travel.md): DB::OpenAt and ReadOptions::as_of at times, sequences and
// checkpoints; the errors for points outside the window; checkpoint pins, expiry and deletion
// against GC; the history_retention setting. The randomized test keeps the model's state after
// every acknowledged write, with its commit time (exact on a manual clock) and sequence, while
// flushes, compactions, writer takeovers and GC passes run, and compares every key of views at
// random points inside the window. Prints its seed; CLOUDKV_SEED repeats a run,
// CLOUDKV_TT_STEPS makes it longer.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "cloudkv/db.h"
#include "db/manifest.h"
#include "store/stores.h"
#include "util/random.h"

namespace cloudkv {
namespace {

using State = std::map<std::string, std::string>;

constexpr uint64_t kMinAgeMs = 2000;
constexpr uint64_t kSkewMs = 100;
constexpr uint64_t kMs = 1000;

class TimeTravelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    url_ = "memory://tt-" + name;
    DropMemoryStore("tt-" + name);
    store_ = *OpenObjectStore(url_);
  }

  Options MakeOptions(uint64_t history_ms) {
    Options o;
    o.store = store_;
    o.clock = clock_;
    o.memtable_bytes = 16 * 1024;
    o.wal_flush_interval_ms = 1;
    o.block_cache_bytes = 1 << 20;
    o.memtable_max_age_ms = 1000ull * 3600 * 1000;
    o.gc_interval_ms = 0;
    o.disable_auto_compaction = true;
    o.history_retention_ms = history_ms;
    o.gc_min_age_ms = kMinAgeMs;
    o.max_clock_skew_ms = kSkewMs;
    return o;
  }

  std::unique_ptr<DB> Open(uint64_t history_ms) {
    auto db = DB::Open(url_, MakeOptions(history_ms));
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  Result<std::unique_ptr<DB>> OpenAt(const ReadPoint& point) {
    return DB::OpenAt(url_, point, MakeOptions(0));
  }

  static State ReadAll(DB* db, const ReadOptions& ro = ReadOptions()) {
    State out;
    auto it = db->NewIterator(ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace(std::string(it->key()), std::string(it->value()));
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }

  void Put(DB* db, const std::string& k, const std::string& v, State* model) {
    ASSERT_TRUE(db->Put(WriteOptions(), k, v).ok());
    (*model)[k] = v;
  }

  void Advance(uint64_t ms) { clock_->Advance(ms * kMs); }

  std::string url_;
  std::shared_ptr<ObjectStore> store_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
};

// One acknowledged write of the model's history.
struct Commit {
  uint64_t time_micros;
  uint64_t sequence;  // of the batch's last record
  State state;        // after it
};

TEST_F(TimeTravelTest, RandomizedHistory) {
  Random rnd(TestSeed("TimeTravelTest.RandomizedHistory"));
  const char* steps_env = std::getenv("CLOUDKV_TT_STEPS");
  const int steps = steps_env ? std::atoi(steps_env) : 600;
  constexpr uint64_t kHistoryMs = 20'000;
  const uint64_t created = clock_->NowMicros();
  auto db = Open(kHistoryMs);
  ASSERT_NE(db, nullptr);
  std::vector<Commit> history;
  State model;
  auto key = [&] { return "k" + std::to_string(rnd.Uniform(40)); };
  auto state_at_time = [&](uint64_t t) {
    State s;
    for (const auto& c : history) {
      if (c.time_micros > t) break;
      s = c.state;
    }
    return s;
  };
  int checks = 0;
  for (int step = 0; step < steps; step++) {
    const uint64_t op = rnd.Uniform(100);
    // Every write commits at a distinct, known time: commit_time = max(now, previous + 1 µs),
    // and the clock moves before each one.
    clock_->Advance(1 + rnd.Uniform(300 * kMs));
    WriteBatch batch;
    if (op < 55) {
      const std::string k = key();
      const std::string v = "v" + std::to_string(step) + std::string(rnd.Uniform(200), 'x');
      batch.Put(k, v);
      model[k] = v;
    } else if (op < 65) {
      const std::string k = key();
      batch.Delete(k);
      model.erase(k);
    } else if (op < 70) {
      std::string a = key(), b = key();
      if (a > b) std::swap(a, b);
      batch.DeleteRange(a, b);
      model.erase(model.lower_bound(a), model.lower_bound(b));
    } else if (op < 75) {
      // A batch of several records: atomic in the past too.
      for (int i = 0; i < 3; i++) {
        const std::string k = key();
        batch.Put(k, "b" + std::to_string(step) + "." + std::to_string(i));
        model[k] = "b" + std::to_string(step) + "." + std::to_string(i);
      }
    }
    if (batch.Count() > 0) {
      uint64_t seq = 0;
      const uint64_t t = clock_->NowMicros();
      Status s = db->Write(WriteOptions(), batch, &seq);
      ASSERT_TRUE(s.ok()) << "step " << step << ": " << s.ToString();
      ASSERT_TRUE(history.empty() || seq > history.back().sequence);
      history.push_back(Commit{t, seq, model});
      continue;
    }
    if (op < 80) {
      ASSERT_TRUE(db->Flush().ok());
    } else if (op < 83) {
      ASSERT_TRUE(db->CompactAll().ok());
    } else if (op < 86) {
      // Writer takeover: the new writer fences the old one, which is then closed.
      auto next = Open(kHistoryMs);
      ASSERT_NE(next, nullptr);
      (void)db->Close();
      db = std::move(next);
    } else if (op < 89) {
      clock_->Advance(rnd.Uniform(4000) * kMs);
      Status s = db->CollectGarbage();
      ASSERT_TRUE(s.ok()) << s.ToString();
    } else {
      // Check a random point inside the window (with a margin for the skew allowance).
      const uint64_t now = clock_->NowMicros();
      const uint64_t oldest = std::max(created, now - (kHistoryMs - 200) * kMs);
      const uint64_t kind = rnd.Uniform(4);
      ReadPoint point = ReadPoint::AtTime(oldest + rnd.Uniform(now - oldest + 1));
      if (kind == 0 && !history.empty()) {
        // Exactly a commit time, or just before one.
        const auto& c = history[rnd.Uniform(history.size())];
        if (c.time_micros >= oldest + 1) {
          point = ReadPoint::AtTime(c.time_micros - rnd.Uniform(2));
        }
      }
      State expect = state_at_time(point.time_micros());
      if (kind == 1 && !history.empty()) {
        // A sequence whose state lasted into the window.
        const size_t i = rnd.Uniform(history.size());
        if (i + 1 == history.size() || history[i + 1].time_micros > oldest) {
          point = ReadPoint::AtSequence(history[i].sequence);
          expect = history[i].state;
        }
      }
      if (kind == 3) {
        // The same through ReadOptions::as_of on the live writer.
        ReadOptions ro;
        ro.as_of = point;
        ASSERT_EQ(ReadAll(db.get(), ro), expect)
            << "step " << step << " as_of " << point.ToString();
        const std::string k = key();
        auto got = db->Get(ro, k);
        if (expect.count(k)) {
          ASSERT_TRUE(got.ok()) << got.status().ToString();
          ASSERT_EQ(*got, expect[k]);
        } else {
          ASSERT_TRUE(got.status().IsNotFound()) << got.status().ToString();
        }
      } else {
        auto view = OpenAt(point);
        ASSERT_TRUE(view.ok()) << "step " << step << " " << point.ToString() << ": "
                               << view.status().ToString();
        ASSERT_EQ(ReadAll(view->get()), expect) << "step " << step << " at " << point.ToString();
      }
      checks++;
    }
  }
  // The present through OpenAt(now) equals the model.
  auto now_view = OpenAt(ReadPoint::AtTime(clock_->NowMicros()));
  ASSERT_TRUE(now_view.ok()) << now_view.status().ToString();
  EXPECT_EQ(ReadAll(now_view->get()), model);
  std::fprintf(stderr, "RandomizedHistory: %d steps, %zu writes, %d past reads checked\n", steps,
               history.size(), checks);
}

TEST_F(TimeTravelTest, PointsOutsideTheWindow) {
  const uint64_t created = clock_->NowMicros();
  auto db = Open(10'000);
  State model;
  Advance(100);
  Put(db.get(), "a", "1", &model);
  const uint64_t t1 = clock_->NowMicros();
  // Before the database existed.
  auto before = OpenAt(ReadPoint::AtTime(created - 1));
  ASSERT_TRUE(before.status().IsInvalidArgument()) << before.status().ToString();
  EXPECT_NE(before.status().message().find("before the database was created"), std::string::npos)
      << before.status().ToString();
  EXPECT_NE(before.status().message().find(ReadPoint::FormatTime(created)), std::string::npos)
      << before.status().ToString();
  // In the future.
  auto future = OpenAt(ReadPoint::AtTime(clock_->NowMicros() + 1'000'000));
  EXPECT_TRUE(future.status().IsInvalidArgument()) << future.status().ToString();
  // A sequence not written yet.
  auto unwritten = OpenAt(ReadPoint::AtSequence(1000));
  ASSERT_TRUE(unwritten.status().IsInvalidArgument()) << unwritten.status().ToString();
  EXPECT_NE(unwritten.status().message().find("the last sequence is 1"), std::string::npos)
      << unwritten.status().ToString();
  // Outside the window: the error names the oldest available point.
  Advance(30'000);
  Put(db.get(), "a", "2", &model);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CollectGarbage().ok());
  auto old = OpenAt(ReadPoint::AtTime(t1));
  ASSERT_TRUE(old.status().IsInvalidArgument()) << old.status().ToString();
  const std::string oldest = ReadPoint::FormatTime(clock_->NowMicros() - 10'000 * kMs);
  EXPECT_NE(old.status().message().find("outside the history window"), std::string::npos);
  EXPECT_NE(old.status().message().find("the oldest available point is " + oldest),
            std::string::npos)
      << old.status().ToString();
  // The oldest point it names can be read.
  auto at_oldest = OpenAt(ReadPoint::AtTime(clock_->NowMicros() - 10'000 * kMs));
  ASSERT_TRUE(at_oldest.ok()) << at_oldest.status().ToString();
  EXPECT_EQ(ReadAll(at_oldest->get()), (State{{"a", "1"}}));
  // A sequence GC no longer keeps.
  ASSERT_TRUE(db->CompactAll().ok());
  Advance(30'000);
  Put(db.get(), "b", "3", &model);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CompactAll().ok());
  Advance(kMinAgeMs * 2);
  ASSERT_TRUE(db->CollectGarbage().ok());
  auto seq1 = OpenAt(ReadPoint::AtSequence(1));
  ASSERT_TRUE(seq1.status().IsInvalidArgument()) << seq1.status().ToString();
  EXPECT_NE(seq1.status().message().find("oldest available sequence"), std::string::npos)
      << seq1.status().ToString();
  // as_of gets the same errors, and refuses a snapshot with it.
  ReadOptions ro;
  ro.as_of = ReadPoint::AtTime(t1);
  EXPECT_TRUE(db->Get(ro, "a").status().IsInvalidArgument());
  ManagedSnapshot snap(*db);
  ro.as_of = ReadPoint::AtTime(clock_->NowMicros());
  ro.snapshot = snap.get();
  EXPECT_TRUE(db->Get(ro, "a").status().IsInvalidArgument());
}

// The SSTs of a checkpoint's pinned manifest (its copy).
std::set<std::string> SstsOf(ObjectStore* store, const CheckpointInfo& cp) {
  const std::string key = "checkpoint/" + cp.id + ".manifest";
  auto got = store->Get(key);
  EXPECT_TRUE(got.ok()) << key;
  std::set<std::string> out;
  if (!got.ok()) return out;
  auto m = DecodeManifest(key, got->data);
  EXPECT_TRUE(m.ok());
  for (const auto& s : m->l0()) out.insert(s.object_key());
  for (const auto& l : m->levels()) {
    for (const auto& s : l.ssts()) out.insert(s.object_key());
  }
  return out;
}

TEST_F(TimeTravelTest, CheckpointsPinBeyondTheWindow) {
  auto db = Open(5'000);
  State model;
  for (int i = 0; i < 20; i++)
    Put(db.get(), "k" + std::to_string(i), "old" + std::to_string(i), &model);
  ASSERT_TRUE(db->Flush().ok());
  Put(db.get(), "tail", "in the WAL only", &model);  // not flushed: the checkpoint needs the WAL
  const State at_checkpoint = model;
  auto forever = db->CreateCheckpoint("forever", std::nullopt);
  ASSERT_TRUE(forever.ok()) << forever.status().ToString();
  auto expiring = db->CreateCheckpoint("soon", clock_->NowMicros() + 20'000 * kMs);
  ASSERT_TRUE(expiring.ok()) << expiring.status().ToString();
  auto deleted = db->CreateCheckpoint("deleted", std::nullopt);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(db->CreateCheckpoint("forever", std::nullopt).status().IsInvalidArgument());
  EXPECT_TRUE(db->CreateCheckpoint("bad name!", std::nullopt).status().IsInvalidArgument());
  EXPECT_TRUE(db->CreateCheckpoint("past", clock_->NowMicros() - 1).status().IsInvalidArgument());
  auto list = db->ListCheckpoints();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "forever");
  EXPECT_EQ((*list)[1].expire_time_micros, expiring->expire_time_micros);

  // Overwrite everything, compact, and let the window pass: only the pins keep the old state.
  for (int i = 0; i < 20; i++) Put(db.get(), "k" + std::to_string(i), "new", &model);
  ASSERT_TRUE(db->Delete(WriteOptions(), "tail").ok());
  model.erase("tail");
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CompactAll().ok());
  Advance(10'000);
  Put(db.get(), "later", "x", &model);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CollectGarbage().ok());
  ASSERT_TRUE(db->DeleteCheckpoint("deleted").ok());
  EXPECT_TRUE(db->DeleteCheckpoint("deleted").IsNotFound());
  EXPECT_FALSE(store_->Head("checkpoint/" + deleted->id + ".manifest").ok());
  Advance(kMinAgeMs * 2);
  ASSERT_TRUE(db->CollectGarbage().ok());
  for (const char* name : {"forever", "soon"}) {
    auto view = OpenAt(ReadPoint::AtCheckpoint(name));
    ASSERT_TRUE(view.ok()) << name << ": " << view.status().ToString();
    EXPECT_EQ(ReadAll(view->get()), at_checkpoint) << name;
    ReadOptions ro;
    ro.as_of = ReadPoint::AtCheckpoint(name);
    EXPECT_EQ(ReadAll(db.get(), ro), at_checkpoint) << name;
  }
  auto gone = OpenAt(ReadPoint::AtCheckpoint("deleted"));
  EXPECT_TRUE(gone.status().IsNotFound()) << gone.status().ToString();
  EXPECT_NE(gone.status().message().find("'forever'"), std::string::npos);

  // Expiry releases the pin: reading it fails, and GC deletes what only it kept.
  const std::set<std::string> pinned = SstsOf(store_.get(), *forever);
  ASSERT_FALSE(pinned.empty());
  Advance(20'000);
  ASSERT_TRUE(db->CollectGarbage().ok());
  auto expired = OpenAt(ReadPoint::AtCheckpoint("soon"));
  EXPECT_TRUE(expired.status().IsNotFound()) << expired.status().ToString();
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
  list = db->ListCheckpoints();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  auto still = OpenAt(ReadPoint::AtCheckpoint("forever"));
  ASSERT_TRUE(still.ok()) << still.status().ToString();
  EXPECT_EQ(ReadAll(still->get()), at_checkpoint);
  still->reset();
  // Deleting the last pin lets GC delete the old SSTs and WAL.
  ASSERT_TRUE(db->DeleteCheckpoint("forever").ok());
  Advance(kMinAgeMs * 2);
  ASSERT_TRUE(db->CollectGarbage().ok());
  for (const auto& key : pinned) EXPECT_FALSE(store_->Head(key).ok()) << key << " kept";
  EXPECT_EQ(ReadAll(db.get()), model);
}

TEST_F(TimeTravelTest, CheckpointFromReadOnlyOpenIncludesTheWalTail) {
  auto db = Open(1'000);
  State model;
  Put(db.get(), "a", "1", &model);
  ASSERT_TRUE(db->Flush().ok());
  Put(db.get(), "b", "2", &model);  // durable in the WAL only
  Options ro_options = MakeOptions(0);
  ro_options.read_only = true;
  auto ro = DB::Open(url_, ro_options);
  ASSERT_TRUE(ro.ok());
  auto cp = (*ro)->CreateCheckpoint("from-cli", std::nullopt);
  ASSERT_TRUE(cp.ok()) << cp.status().ToString();
  EXPECT_EQ(cp->sequence, 2u);
  const State at_checkpoint = model;
  Put(db.get(), "c", "3", &model);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CompactAll().ok());
  Advance(10'000);
  ASSERT_TRUE(db->CollectGarbage().ok());
  auto view = OpenAt(ReadPoint::AtCheckpoint("from-cli"));
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(ReadAll(view->get()), at_checkpoint);
  EXPECT_TRUE((*view)->CreateCheckpoint("x", std::nullopt).status().IsNotSupported());
}

TEST_F(TimeTravelTest, HistoryRetentionIsADatabaseSetting) {
  auto db = Open(1'000);
  auto settings = DB::GetSettings(url_, MakeOptions(0));
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->history_retention_micros, 1'000 * kMs);
  ASSERT_TRUE(DB::SetHistoryRetention(url_, 60'000 * kMs, MakeOptions(0)).ok());
  settings = DB::GetSettings(url_, MakeOptions(0));
  EXPECT_EQ(settings->history_retention_micros, 60'000 * kMs);
  EXPECT_TRUE(DB::SetHistoryRetention(url_, ~0ull, MakeOptions(0)).IsInvalidArgument());
  EXPECT_TRUE(DB::GetSettings("memory://tt-no-such-db", Options()).status().IsNotFound());
  // The writer, opened before the change, and a second process's GC (a read-only open with
  // other options) both keep the longer window: the manifest decides, not the process.
  State model;
  Put(db.get(), "a", "1", &model);
  ASSERT_TRUE(db->Flush().ok());
  const uint64_t t1 = clock_->NowMicros();
  const State at_t1 = model;
  Advance(1);
  Put(db.get(), "a", "2", &model);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CompactAll().ok());
  Advance(30'000);
  Put(db.get(), "z", "3", &model);
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->CollectGarbage().ok());
  Options other = MakeOptions(0);
  other.read_only = true;
  auto gc_process = DB::Open(url_, other);
  ASSERT_TRUE(gc_process.ok());
  ASSERT_TRUE((*gc_process)->CollectGarbage().ok());
  auto view = OpenAt(ReadPoint::AtTime(t1));
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(ReadAll(view->get()), at_t1);
  // Shortened: the same point is now outside the window, and GC lets it go.
  ASSERT_TRUE(DB::SetHistoryRetention(url_, 5'000 * kMs, MakeOptions(0)).ok());
  ASSERT_TRUE(db->CollectGarbage().ok());
  EXPECT_TRUE(OpenAt(ReadPoint::AtTime(t1)).status().IsInvalidArgument());
}

TEST(ReadPointTest, Parse) {
  const uint64_t now = 1'763'928'903'120'000;  // 2025-11-23T20:15:03.120Z
  EXPECT_EQ(ReadPoint::FormatTime(now), "2025-11-23T20:15:03.120000Z");
  auto p = ReadPoint::Parse("2025-11-23T20:15:03.120Z", 0);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, ReadPoint::AtTime(now));
  EXPECT_EQ(*ReadPoint::Parse("2025-11-23T22:15:03.12+02:00", 0), ReadPoint::AtTime(now));
  EXPECT_EQ(*ReadPoint::Parse("2000-02-29T00:00Z", 0), ReadPoint::AtTime(951'782'400'000'000));
  EXPECT_EQ(*ReadPoint::Parse("1763928903120", 0), ReadPoint::AtTime(now));
  EXPECT_EQ(*ReadPoint::Parse("-10m", now), ReadPoint::AtTime(now - 600'000'000));
  EXPECT_EQ(*ReadPoint::Parse("-1h30m", now), ReadPoint::AtTime(now - 5'400'000'000));
  EXPECT_EQ(*ReadPoint::Parse("seq:42", now), ReadPoint::AtSequence(42));
  EXPECT_EQ(*ReadPoint::Parse("checkpoint:nightly", now), ReadPoint::AtCheckpoint("nightly"));
  for (const char* bad : {"", "yesterday", "2025-02-30T00:00Z", "2025-11-23T20:15:03", "-5x",
                          "seq:", "seq:x", "checkpoint:", "2025-11-23T25:00Z", "-"}) {
    EXPECT_TRUE(ReadPoint::Parse(bad, now).status().IsInvalidArgument()) << bad;
  }
  EXPECT_EQ(*ReadPoint::ParseDurationMicros("6h"), 6ull * 3600 * 1'000'000);
  EXPECT_EQ(*ReadPoint::ParseDurationMicros("250ms"), 250'000u);
  EXPECT_EQ(*ReadPoint::ParseDurationMicros("1500"), 1'500'000u);
  EXPECT_TRUE(ReadPoint::ParseDurationMicros("6 h").status().IsInvalidArgument());
}

}  // namespace
}  // namespace cloudkv
