// SPDX-License-Identifier: Apache-2.0
// ctest-labels: crash
// Crash test with real processes: a child writes with durable acknowledgements and reports each
// acknowledged key on a pipe; the parent kills it with SIGKILL at a random moment, reopens the
// database and checks that every acknowledged key is there with its value, and that every key
// present is one the child wrote, with the value it wrote. CLOUDKV_CRASH_ITERATIONS sets the
// number of kills (default 8; run a long variant by hand with e.g. 200).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cloudkv/db.h"
#include "support/child_process.h"
#include "util/hash.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::string ValueFor(std::string_view key) {
  return "value-of-" + std::string(key) + "-" + std::to_string(Hash64(key) % 100000);
}

// The writer: args are the database URL and the round. Reports each acknowledged key to the
// parent as a line; runs until killed.
CLOUDKV_CHILD_MAIN(crash_writer) {
  const std::string url = args.at(0);
  const std::string round = args.at(1);
  Options o;
  o.memtable_bytes = 256 * 1024;  // flushes happen during the run too
  o.wal_flush_interval_ms = 2;
  o.max_inflight_wal_uploads = 4;  // several uploads in flight when the kill comes
  auto db = DB::Open(url, o);
  ChildCheckOk(db.status(), "open " + url);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0;; i++) {
        std::string key = "r" + round + "-t" + std::to_string(t) + "-" + std::to_string(i);
        ChildCheckOk((*db)->Put({}, key, ValueFor(key)), "put " + key);
        if (!WriteLineToParent(key)) ChildFail("cannot report to the parent");
      }
    });
  }
  for (auto& t : threads) t.join();
  return 0;
}

TEST(Crash, AcknowledgedWritesSurviveSigkill) {
  Random rnd(TestSeed("Crash.AcknowledgedWritesSurviveSigkill"));
  const char* iters_env = std::getenv("CLOUDKV_CRASH_ITERATIONS");
  const int iterations = iters_env ? std::atoi(iters_env) : 8;
  auto dir =
      std::filesystem::temp_directory_path() / ("cloudkv-crash-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const std::string url = "file://" + dir.string();
  std::set<std::string> acked;
  for (int round = 0; round < iterations; round++) {
    Result<ChildProcess> child =
        ChildProcess::Spawn("crash_writer", {.args = {url, std::to_string(round)}});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    // Collect acknowledgements until the kill time, then kill and collect what was reported.
    const auto kill_at =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(rnd.Range(150, 900));
    while (std::optional<std::string> key = child->ReadLineUntil(kill_at)) acked.insert(*key);
    child->Kill();
    // A line written before the kill was acknowledged before it.
    for (std::string& key : child->ReadLinesToEnd()) acked.insert(std::move(key));
    ASSERT_EQ(child->Wait(), 128 + SIGKILL) << "the child ended before the kill (see its output)";

    Options o;
    auto db = DB::Open(url, o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    for (const auto& key : acked) {
      auto v = (*db)->Get({}, key);
      ASSERT_TRUE(v.ok()) << "round " << round << ": acknowledged key " << key
                          << " lost: " << v.status().ToString();
      ASSERT_EQ(*v, ValueFor(key));
    }
    auto it = (*db)->NewIterator({});
    size_t present = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), present++) {
      ASSERT_EQ(it->value(), ValueFor(it->key()))
          << "round " << round << ": key " << it->key() << " has a value never written";
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    ASSERT_GE(present, acked.size());
    it.reset();
    ASSERT_TRUE((*db)->Close().ok());
  }
  std::fprintf(stderr, "crash test: %d kills, %zu acknowledged writes verified\n", iterations,
               acked.size());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cloudkv
