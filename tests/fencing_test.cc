// SPDX-License-Identifier: Apache-2.0
// Writer fencing (docs/design.md §4): a new writer fences the old one, which can never corrupt the
// database or lose an acknowledged write afterwards.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cloudkv/db.h"
#include "format/wal_format.h"
#include "store/stores.h"
#include "support/child_process.h"
#include "support/gated_store.h"

namespace cloudkv {
namespace {

bool WaitUntil(const std::function<bool()>& cond) {
  for (int i = 0; i < 5000 && !cond(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

// Writer A with three uploads in flight (ids 3, 4, 5, one write each) of which id 3 is held at
// a gate: the hole. 4 and 5 land. `results` receive the three writes' outcomes.
struct ZombieWithAHole {
  // Declared first so the callbacks' targets outlive the writer.
  std::vector<std::promise<Status>> results = std::vector<std::promise<Status>>(3);
  std::shared_ptr<ObjectStore> base;
  std::shared_ptr<GatedStore> gated;
  std::unique_ptr<DB> a;

  // Fails the calling test (check HasFatalFailure) if the setup does not come about.
  void Start(const std::string& url) {
    base = NewPrivateMemoryStore(url);
    gated = std::make_shared<GatedStore>(base);
    Options a_opts;
    a_opts.store = gated;
    a_opts.wal_max_bytes = 1;  // every write is its own WAL object
    a_opts.max_inflight_wal_uploads = 4;
    auto opened = DB::Open(url, a_opts);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    a = std::move(opened).value();
    // Fresh database: id 1 holds A's fence, so A's WAL objects start at 2.
    ASSERT_TRUE(a->Put({}, "acked", "1").ok());
    ASSERT_TRUE(base->Head(WalObjectKey(2)).ok());
    // Each write waits for its own upload to start, so each is its own WAL object.
    gated->Close(WalObjectKey(3));
    for (int i = 0; i < 3; i++) {
      WriteBatch b;
      b.Put("unacked" + std::to_string(i), "zombie");
      a->WriteAsync(b, [this, i](Status s, uint64_t) { results[i].set_value(s); });
      ASSERT_TRUE(WaitUntil([&] {
        return i == 0 ? gated->waiting() == 1 : base->Head(WalObjectKey(3 + i)).ok();
      })) << "upload "
          << i;
    }
  }
};

TEST(Fencing, ZombieWithThreeUploadsInFlightAndAHole) {
  ZombieWithAHole z;
  z.Start("test://fencing");
  if (::testing::Test::HasFatalFailure()) return;
  auto& base = z.base;
  auto& gated = z.gated;
  auto& results = z.results;
  auto* a = &z.a;

  // B opens: replays up to id 2, fences the hole at 3.
  Options b_opts;
  b_opts.store = base;
  auto b = DB::Open("test://fencing", b_opts);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto fence = base->Get(WalObjectKey(3));
  ASSERT_TRUE(fence.ok());
  auto decoded = DecodeWalObject(WalObjectKey(3), fence->data);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->fence);
  EXPECT_EQ((*b)->Get({}, "acked").value_or("<missing>"), "1");

  // The zombie's stalled upload lands now: it finds the fence and A learns it is fenced.
  gated->Open(WalObjectKey(3));
  for (auto& r : results) {
    Status s = r.get_future().get();
    EXPECT_TRUE(s.IsFenced()) << s.ToString();
  }
  EXPECT_TRUE((*a)->Put({}, "later", "zombie").IsFenced());

  // B's own WAL objects skip the ids the zombie's late uploads took.
  ASSERT_TRUE((*b)->Put({}, "from-b", "2").ok());
  for (int i = 0; i < 3; i++) {
    EXPECT_TRUE((*b)->Get({}, "unacked" + std::to_string(i)).status().IsNotFound());
  }
  ASSERT_TRUE((*b)->Close().ok());
  a->reset();

  // A third opener replays past the fence and the skipped ids.
  Options c_opts;
  c_opts.store = base;
  auto c = DB::Open("test://fencing", c_opts);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->Get({}, "acked").value_or("<missing>"), "1");
  EXPECT_EQ((*c)->Get({}, "from-b").value_or("<missing>"), "2");
  for (int i = 0; i < 3; i++) {
    EXPECT_TRUE((*c)->Get({}, "unacked" + std::to_string(i)).status().IsNotFound());
  }
  EXPECT_TRUE((*c)->Get({}, "later").status().IsNotFound());
}

// Issue #16: the new writer's first free id (the one after its fence) is taken by the zombie's
// late upload, and the new writer moves its memtable before writing anything, so the recovery
// point it commits is that id. Replay from there must not apply the zombie's object: nothing
// of it was acknowledged, and its sequence numbers are the ones the new writer reuses.
void ZombieUploadsAtTheRecoveryPoint(const std::function<Status(DB*)>& right_after_open) {
  ZombieWithAHole z;
  z.Start("test://fencing-rp");
  if (::testing::Test::HasFatalFailure()) return;
  auto& base = z.base;
  auto& gated = z.gated;
  auto& results = z.results;
  auto* a = &z.a;

  // B fences 3; its first free id is 4, which holds the zombie's object. It moves its memtable
  // (the replayed "acked") before writing anything: the recovery point becomes 4.
  Options b_opts;
  b_opts.store = base;
  b_opts.disable_auto_compaction = true;
  auto b = DB::Open("test://fencing-rp", b_opts);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(right_after_open(b->get()).ok());
  ASSERT_TRUE((*b)->Put({}, "from-b", "2").ok());
  ASSERT_TRUE((*b)->Put({}, "from-b-2", "3").ok());  // the sequence number of unacked1
  gated->Open(WalObjectKey(3));
  for (auto& r : results) EXPECT_TRUE(r.get_future().get().IsFenced());
  EXPECT_TRUE((*b)->Get({}, "unacked2").status().IsNotFound());
  ASSERT_TRUE((*b)->Close().ok());
  a->reset();

  // A third open sees all of B's writes and none of the zombie's.
  for (bool read_only : {true, false}) {
    Options c_opts;
    c_opts.store = base;
    c_opts.read_only = read_only;
    auto c = DB::Open("test://fencing-rp", c_opts);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ((*c)->Get({}, "acked").value_or("<missing>"), "1");
    EXPECT_EQ((*c)->Get({}, "from-b").value_or("<missing>"), "2");
    EXPECT_EQ((*c)->Get({}, "from-b-2").value_or("<missing>"), "3");
    for (int i = 0; i < 3; i++) {
      EXPECT_TRUE((*c)->Get({}, "unacked" + std::to_string(i)).status().IsNotFound())
          << "unacked" << i << ", read_only " << read_only;
    }
  }
}

TEST(Fencing, ZombieUploadAtTheRecoveryPointAfterFlush) {
  ZombieUploadsAtTheRecoveryPoint([](DB* db) { return db->Flush(); });
}

TEST(Fencing, ZombieUploadAtTheRecoveryPointAfterCompactAll) {
  ZombieUploadsAtTheRecoveryPoint([](DB* db) { return db->CompactAll(); });
}

// The exit code of a writer that ended as it should: fenced.
constexpr int kExitFenced = 7;

// The writer AcrossProcesses fences: args are the database URL. Reports "ready" once open, then
// each acknowledged key as a line, until its writes are fenced.
CLOUDKV_CHILD_MAIN(fenced_writer) {
  auto db = DB::Open(args.at(0), Options());
  ChildCheckOk(db.status(), "open");
  if (!WriteLineToParent("ready")) ChildFail("cannot report to the parent");
  std::atomic<bool> fenced{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; !fenced; i++) {
        std::string key = "c" + std::to_string(t) + "-" + std::to_string(i);
        Status s = (*db)->Put({}, key, "v");
        if (s.IsFenced()) {
          fenced = true;
          return;
        }
        ChildCheckOk(s, "put " + key);
        if (!WriteLineToParent(key)) ChildFail("cannot report to the parent");
      }
    });
  }
  for (auto& t : threads) t.join();
  // Fenced, as expected. The fenced database is not closed: closing is not what this tests.
  std::_Exit(kExitFenced);
}

TEST(Fencing, AcrossProcesses) {
  auto dir =
      std::filesystem::temp_directory_path() / ("cloudkv-fencing-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string url = "file://" + dir.string();
  Result<ChildProcess> child = ChildProcess::Spawn("fenced_writer", {.args = {url}});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  ASSERT_EQ(child->ReadLine().value_or("<no output>"), "ready") << "see the child's output";
  // Let it write for a while: until it has acknowledged some writes.
  constexpr size_t kAckedBeforeFence = 50;
  std::vector<std::string> acked;
  while (acked.size() < kAckedBeforeFence) {
    std::optional<std::string> key = child->ReadLine();
    ASSERT_TRUE(key.has_value()) << "the child ended before it was fenced (see its output)";
    acked.push_back(*key);
  }
  auto second = DB::Open(url, Options());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  for (std::string& key : child->ReadLinesToEnd()) acked.push_back(std::move(key));
  EXPECT_EQ(child->Wait(), kExitFenced) << "the child must end fenced";
  for (const auto& key : acked) {
    EXPECT_TRUE((*second)->Get({}, key).ok()) << "acknowledged " << key << " lost";
  }
  ASSERT_TRUE((*second)->Close().ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cloudkv
