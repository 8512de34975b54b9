// ctest-labels: crash
// Crash test with real processes: a child writes with durable acknowledgements and reports each
// acknowledged key on a pipe; the parent kills it with SIGKILL at a random moment, reopens the
// database and checks that every acknowledged key is there with its value, and that every key
// present is one the child wrote, with the value it wrote. CLOUDKV_CRASH_ITERATIONS sets the
// number of kills (default 8; run a long variant by hand with e.g. 200).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "cloudkv/db.h"
#include "util/hash.h"
#include "util/random.h"

namespace cloudkv {
namespace {

std::string ValueFor(std::string_view key) {
  return "value-of-" + std::string(key) + "-" + std::to_string(Hash64(key) % 100000);
}

// Runs only in the child process (the parent sets CLOUDKV_CRASH_CHILD_URL).
TEST(CrashChild, WriteUntilKilled) {
  const char* url = std::getenv("CLOUDKV_CRASH_CHILD_URL");
  if (url == nullptr) GTEST_SKIP() << "only runs as the crash test's child";
  const int round = std::atoi(std::getenv("CLOUDKV_CRASH_ROUND"));
  Options o;
  o.memtable_bytes = 256 * 1024;  // flushes happen during the run too
  o.wal_flush_interval_ms = 2;
  o.max_inflight_wal_uploads = 4;  // several uploads in flight when the kill comes
  auto db = DB::Open(url, o);
  if (!db.ok()) {
    std::fprintf(stderr, "child open failed: %s\n", db.status().ToString().c_str());
    std::_Exit(3);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0;; i++) {
        std::string key =
            "r" + std::to_string(round) + "-t" + std::to_string(t) + "-" + std::to_string(i);
        Status s = (*db)->Put({}, key, ValueFor(key));
        if (!s.ok()) {
          std::fprintf(stderr, "child put failed: %s\n", s.ToString().c_str());
          std::_Exit(4);
        }
        std::string line = key + "\n";
        if (::write(3, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          std::_Exit(5);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
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
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child reports on fd 3 (gtest owns stdout).
      ::close(fds[0]);
      if (fds[1] != 3) ::dup2(fds[1], 3);
      ::setenv("CLOUDKV_CRASH_CHILD_URL", url.c_str(), 1);
      ::setenv("CLOUDKV_CRASH_ROUND", std::to_string(round).c_str(), 1);
      ::execl("/proc/self/exe", "crash_test", "--gtest_filter=CrashChild.WriteUntilKilled",
              static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    ::close(fds[1]);
    // Read acknowledgements until the kill time, then kill and drain what was reported.
    const auto kill_at =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(rnd.Range(150, 900));
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    std::string pending;
    auto drain = [&] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) {
        pending.append(buf, n);
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          acked.insert(pending.substr(0, nl));
          pending.erase(0, nl + 1);
        }
      }
    };
    while (std::chrono::steady_clock::now() < kill_at) {
      drain();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    drain();  // a line written before the kill was acknowledged before it
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with status " << status;

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
