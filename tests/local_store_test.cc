// file:// backend: layout, options, errors, and atomicity across processes and crashes.
//
// The cross-process tests re-execute this test binary (/proc/self/exe) with a filter that runs
// only LocalStoreChild.DISABLED_Run and CLOUDKV_STORE_CHILD naming what the child does.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "store/stores.h"
#include "support/temp_dir.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/random.h"

extern char** environ;

namespace cloudkv {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<ObjectStore> MustOpen(const std::string& url) {
  Result<std::shared_ptr<ObjectStore>> store = OpenObjectStore(url);
  EXPECT_TRUE(store.ok()) << url << ": " << store.status().ToString();
  return store.ok() ? *store : nullptr;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// --- Payloads that prove they are whole: version, length, body, checksum of all before it. ---

std::string MakePayload(Random& rnd, uint64_t version, size_t body_bytes) {
  std::string out;
  PutFixed64(&out, version);
  PutFixed32(&out, static_cast<uint32_t>(body_bytes));
  out += rnd.Bytes(body_bytes);
  PutFixed64(&out, Checksum64(out));
  return out;
}

// Returns "" if `data` is a whole payload, else what is wrong.
std::string CheckPayload(std::string_view data) {
  if (data.size() < 20) return "too short: " + std::to_string(data.size());
  uint32_t body = DecodeFixed32(data.data() + 8);
  if (data.size() != 20u + body) return "length " + std::to_string(data.size()) + " != header";
  if (DecodeFixed64(data.data() + 12 + body) != Checksum64(data.substr(0, 12 + body))) {
    return "checksum mismatch";
  }
  return "";
}

// --- Child processes. ---

struct Child {
  pid_t pid = -1;
};

Child SpawnChild(const std::map<std::string, std::string>& env) {
  std::vector<std::string> args = {"/proc/self/exe", "--gtest_filter=LocalStoreChild.DISABLED_Run",
                                   "--gtest_also_run_disabled_tests", "--gtest_brief=1"};
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; e++) {
    std::string var = *e;
    if (var.rfind("CLOUDKV_CHILD_", 0) != 0) vars.push_back(var);
  }
  for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  Child child;
  int rc = ::posix_spawn(&child.pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data());
  EXPECT_EQ(rc, 0) << "posix_spawn: " << std::strerror(rc);
  return child;
}

// Waits for the child; returns its exit status, or 128 + signal.
int WaitChild(const Child& child) {
  int status = 0;
  while (::waitpid(child.pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void WaitForFile(const std::string& path) {
  for (int i = 0; i < 600000 && !fs::exists(path); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Waits until `path` exists; false if the child exits first (it failed).
bool WaitForFileOrExit(const std::string& path, const Child& child) {
  for (int i = 0; i < 600000; i++) {
    if (fs::exists(path)) return true;
    int status;
    if (::waitpid(child.pid, &status, WNOHANG) == child.pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// What a child does, selected by CLOUDKV_CHILD_MODE:
//   cas:       CLOUDKV_CHILD_N increments of "counter" by if-match; writes successes to RESULT.
//   if_absent: for round r < N, tries to create "race/r" holding its ID; writes the rounds won.
//   crash:     overwrites/creates/deletes checksummed objects until killed; touches READY first.
// Every mode waits for the file GO before starting, so children race.
TEST(LocalStoreChild, DISABLED_Run) {
  const std::string mode = Env("CLOUDKV_CHILD_MODE");
  if (mode.empty()) GTEST_SKIP() << "only run as a child of LocalStoreMultiProcess tests";
  std::shared_ptr<ObjectStore> store = MustOpen(Env("CLOUDKV_CHILD_URL"));
  ASSERT_NE(store, nullptr);
  const int n = std::atoi(Env("CLOUDKV_CHILD_N").c_str());
  const std::string id = Env("CLOUDKV_CHILD_ID");
  WaitForFile(Env("CLOUDKV_CHILD_GO"));
  std::string result;
  if (mode == "cas") {
    int successes = 0;
    for (int attempts = 0; successes < n && attempts < 1000000; attempts++) {
      Result<GetResult> cur = store->Get("counter");
      ASSERT_TRUE(cur.ok()) << cur.status().ToString();
      std::string next = std::to_string(std::stoll(cur->data) + 1);
      Result<std::string> r = store->Put("counter", next, PutOptions::IfMatch(cur->etag));
      if (r.ok()) {
        successes++;
      } else {
        ASSERT_TRUE(r.status().IsPreconditionFailed()) << r.status().ToString();
      }
    }
    result = std::to_string(successes);
  } else if (mode == "if_absent") {
    for (int round = 0; round < n; round++) {
      Result<std::string> r =
          store->Put("race/" + std::to_string(round), id, PutOptions::IfAbsent());
      if (r.ok()) {
        result += std::to_string(round) + "\n";
      } else {
        ASSERT_TRUE(r.status().IsPreconditionFailed()) << r.status().ToString();
      }
    }
  } else if (mode == "crash") {
    Random rnd(std::strtoull(Env("CLOUDKV_CHILD_SEED").c_str(), nullptr, 10));
    for (uint64_t version = 1;; version++) {
      std::string key = (rnd.OneIn(2) ? "obj/deep/" : "obj/") + std::to_string(rnd.Uniform(8));
      std::string payload = MakePayload(rnd, version, rnd.Uniform(256 << 10));
      switch (rnd.Uniform(4)) {
        case 0: {
          Result<GetResult> cur = store->Get(key);
          if (cur.ok()) (void)store->Put(key, payload, PutOptions::IfMatch(cur->etag));
          break;
        }
        case 1:
          (void)store->Delete(key);
          (void)store->Put(key, payload, PutOptions::IfAbsent());
          break;
        default: {
          Result<std::string> r = store->Put(key, payload);
          ASSERT_TRUE(r.ok()) << r.status().ToString();
        }
      }
      if (version == 20) WriteFile(Env("CLOUDKV_CHILD_READY"), "ready");
    }
  }
  WriteFile(Env("CLOUDKV_CHILD_RESULT"), result);
}

TEST(LocalStoreMultiProcess, IfMatchCasRaceAcrossProcesses) {
  TempDir dir("mp-cas");
  const std::string url = "file://" + dir.path() + "/db";
  std::shared_ptr<ObjectStore> store = MustOpen(url);
  ASSERT_TRUE(store->Put("counter", "0").ok());
  const int kChildren = 3, kIncrements = 40;
  std::vector<Child> children;
  for (int i = 0; i < kChildren; i++) {
    children.push_back(
        SpawnChild({{"CLOUDKV_CHILD_MODE", "cas"},
                    {"CLOUDKV_CHILD_URL", url},
                    {"CLOUDKV_CHILD_N", std::to_string(kIncrements)},
                    {"CLOUDKV_CHILD_GO", dir.path() + "/go"},
                    {"CLOUDKV_CHILD_RESULT", dir.path() + "/r" + std::to_string(i)}}));
  }
  // This process races too, through its own store instance.
  WriteFile(dir.path() + "/go", "");
  int mine = 0;
  for (int attempts = 0; mine < kIncrements && attempts < 1000000; attempts++) {
    Result<GetResult> cur = store->Get("counter");
    ASSERT_TRUE(cur.ok());
    Result<std::string> r = store->Put("counter", std::to_string(std::stoll(cur->data) + 1),
                                       PutOptions::IfMatch(cur->etag));
    if (r.ok()) mine++;
  }
  int total = mine;
  for (int i = 0; i < kChildren; i++) {
    ASSERT_EQ(WaitChild(children[i]), 0) << "child " << i;
    total += std::stoi(ReadFile(dir.path() + "/r" + std::to_string(i)));
  }
  EXPECT_EQ(total, (kChildren + 1) * kIncrements);
  EXPECT_EQ(store->Get("counter")->data, std::to_string(total)) << "a compare-and-swap was lost";
}

// Without fsync, and with it.
TEST(LocalStoreMultiProcess, IfAbsentRaceAcrossProcesses) {
  for (const char* options : {"?fsync=false", ""}) {
    SCOPED_TRACE(options);
    TempDir dir("mp-absent");
    const std::string url = "file://" + dir.path() + "/db" + options;
    const int kChildren = 4, kRounds = 100;
    std::vector<Child> children;
    for (int i = 0; i < kChildren; i++) {
      children.push_back(
          SpawnChild({{"CLOUDKV_CHILD_MODE", "if_absent"},
                      {"CLOUDKV_CHILD_URL", url},
                      {"CLOUDKV_CHILD_ID", "child" + std::to_string(i)},
                      {"CLOUDKV_CHILD_N", std::to_string(kRounds)},
                      {"CLOUDKV_CHILD_GO", dir.path() + "/go"},
                      {"CLOUDKV_CHILD_RESULT", dir.path() + "/r" + std::to_string(i)}}));
    }
    WriteFile(dir.path() + "/go", "");
    std::map<int, std::vector<int>> winners;  // round -> children that won it
    for (int i = 0; i < kChildren; i++) {
      ASSERT_EQ(WaitChild(children[i]), 0) << "child " << i;
      std::istringstream in(ReadFile(dir.path() + "/r" + std::to_string(i)));
      for (int round; in >> round;) winners[round].push_back(i);
    }
    std::shared_ptr<ObjectStore> store = MustOpen(url);
    for (int round = 0; round < kRounds; round++) {
      ASSERT_EQ(winners[round].size(), 1u) << "round " << round;
      EXPECT_EQ(store->Get("race/" + std::to_string(round))->data,
                "child" + std::to_string(winners[round][0]));
    }
  }
}

// Without fsync, and with it.
TEST(LocalStoreMultiProcess, KilledWriterLeavesWholeObjects) {
  for (const char* options : {"?fsync=false", ""}) {
    SCOPED_TRACE(options);
    TempDir dir("mp-crash");
    const std::string url = "file://" + dir.path() + "/db" + options;
    uint64_t seed = TestSeed("LocalStoreMultiProcess.KilledWriterLeavesWholeObjects");
    Random rnd(seed);
    for (int cycle = 0; cycle < 4; cycle++) {
      std::string ready = dir.path() + "/ready" + std::to_string(cycle);
      Child child = SpawnChild({{"CLOUDKV_CHILD_MODE", "crash"},
                                {"CLOUDKV_CHILD_URL", url},
                                {"CLOUDKV_CHILD_SEED", std::to_string(seed + cycle)},
                                {"CLOUDKV_CHILD_GO", dir.path() + "/go"},
                                {"CLOUDKV_CHILD_READY", ready},
                                {"CLOUDKV_CHILD_RESULT", dir.path() + "/unused"}});
      WriteFile(dir.path() + "/go", "");
      ASSERT_TRUE(WaitForFileOrExit(ready, child)) << "the writer child failed (see its output)";
      // Let it run a little further so the kill lands at an arbitrary point of some put.
      std::this_thread::sleep_for(std::chrono::milliseconds(rnd.Range(1, 100)));
      ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
      ASSERT_EQ(WaitChild(child), 128 + SIGKILL);

      std::shared_ptr<ObjectStore> store = MustOpen(url);
      Result<ListResult> list = store->List("", "", 1000);
      ASSERT_TRUE(list.ok());
      EXPECT_FALSE(list->objects.empty());
      for (const ObjectInfo& o : list->objects) {
        EXPECT_EQ(o.key.rfind("obj/", 0), 0u) << "unexpected key " << o.key;
        Result<GetResult> got = store->Get(o.key);
        ASSERT_TRUE(got.ok()) << o.key << ": " << got.status().ToString();
        EXPECT_EQ(CheckPayload(got->data), "") << o.key << " is torn";
      }
    }
  }
}

// --- Single-process behaviour. ---

TEST(LocalStore, CreatesRootAndRejectsAFile) {
  TempDir dir("root");
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path() + "/a/b/c");
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::is_directory(dir.path() + "/a/b/c"));
  EXPECT_EQ(store->Describe(), "file://" + dir.path() + "/a/b/c");
  WriteFile(dir.path() + "/file", "x");
  Result<std::shared_ptr<ObjectStore>> bad = OpenObjectStore("file://" + dir.path() + "/file");
  EXPECT_TRUE(bad.status().IsIOError()) << bad.status().ToString();
  bad = OpenObjectStore("file://" + dir.path() + "/file/below");
  EXPECT_TRUE(bad.status().IsIOError()) << bad.status().ToString();
}

TEST(LocalStore, OptionsAreCheckedAndConsumed) {
  TempDir dir("options");
  EXPECT_NE(MustOpen("file://" + dir.path() + "?fsync=false"), nullptr);
  EXPECT_NE(MustOpen("file://" + dir.path() + "?fsync=true"), nullptr);
  Result<std::shared_ptr<ObjectStore>> bad =
      OpenObjectStore("file://" + dir.path() + "?fsync=perhaps");
  ASSERT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("fsync"), std::string::npos);
  EXPECT_NE(bad.status().message().find("perhaps"), std::string::npos);
  EXPECT_NE(MustOpen("file://" + dir.path() + "?temp_pool=0"), nullptr);
  bad = OpenObjectStore("file://" + dir.path() + "?temp_pool=5000");
  ASSERT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("temp_pool"), std::string::npos);
  bad = OpenObjectStore("file://" + dir.path() + "?temp_pool=-1");
  ASSERT_TRUE(bad.status().IsInvalidArgument());
  // The put journal's options are gone: refused by name, whatever their value.
  for (const char* option : {"journal", "journal_checkpoint_ms", "journal_recycle"}) {
    for (const char* value : {"false", "5"}) {
      bad = OpenObjectStore("file://" + dir.path() + "?" + option + "=" + value);
      ASSERT_TRUE(bad.status().IsInvalidArgument()) << option << ": " << bad.status().ToString();
      EXPECT_NE(bad.status().message().find(std::string("'") + option + "'"), std::string::npos)
          << bad.status().ToString();
      EXPECT_NE(bad.status().message().find("removed"), std::string::npos)
          << bad.status().ToString();
    }
  }
  bad = OpenObjectStore("file://" + dir.path() + "?fsnyc=false");
  ASSERT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("fsnyc"), std::string::npos);
}

TEST(LocalStore, RelativeRoot) {
  TempDir dir("relative");
  fs::path old = fs::current_path();
  fs::current_path(dir.path());
  std::shared_ptr<ObjectStore> store = MustOpen("file://./rel/db");
  fs::current_path(old);  // the store keeps working after the working directory changes
  ASSERT_TRUE(store->Put("k", "v").ok());
  EXPECT_EQ(ReadFile(dir.path() + "/rel/db/k"), "v");
  EXPECT_EQ(store->Get("k")->data, "v");
}

TEST(LocalStore, OnDiskLayoutAndHiddenNames) {
  TempDir dir("layout");
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path());
  ASSERT_TRUE(store->Put("sst/000001.sst", "table").ok());
  ASSERT_TRUE(store->Put(".cloudkv/tmp/x", "not internal").ok());
  ASSERT_TRUE(store->Put("a/.b/..c", "dots").ok());
  EXPECT_EQ(ReadFile(dir.path() + "/sst/000001.sst"), "table");
  EXPECT_EQ(ReadFile(dir.path() + "/..cloudkv/tmp/x"), "not internal");
  EXPECT_EQ(ReadFile(dir.path() + "/a/..b/...c"), "dots");
  // Foreign entries with a single leading dot, and non-regular files, are not objects.
  WriteFile(dir.path() + "/sst/.swp", "editor");
  fs::create_symlink(dir.path() + "/sst/000001.sst", dir.path() + "/sst/link");
  Result<ListResult> list = store->List("");
  ASSERT_TRUE(list.ok());
  std::vector<std::string> keys;
  for (const ObjectInfo& o : list->objects) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{".cloudkv/tmp/x", "a/.b/..c", "sst/000001.sst"}));
  // Nothing was left in the temp directory once the store (and its pool of empty temp files)
  // is gone.
  store.reset();
  EXPECT_TRUE(fs::is_empty(dir.path() + "/.cloudkv/tmp"));
}

TEST(LocalStore, PooledTempFilesAreEmptyBoundedAndRemovedOnClose) {
  TempDir dir("pool");
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path() + "?temp_pool=4");
  const std::string tmp = dir.path() + "/.cloudkv/tmp";
  for (int i = 0; i < 64; i++) {
    std::string key = "wal/" + std::to_string(i);
    ASSERT_TRUE(store->Put(key, std::string(100 + i, 'v'), PutOptions::IfAbsent()).ok());
    ASSERT_TRUE(store->Put("manifest", key, PutOptions::Overwrite()).ok());
    size_t files = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(tmp)) {
      files++;
      EXPECT_EQ(fs::file_size(e.path()), 0u) << e.path();  // made ahead, not yet written
    }
    EXPECT_LE(files, 4u);
  }
  for (int i = 0; i < 64; i++) {
    EXPECT_EQ(ReadFile(dir.path() + "/wal/" + std::to_string(i)), std::string(100 + i, 'v'));
  }
  EXPECT_EQ(ReadFile(dir.path() + "/manifest"), "wal/63");
  // The pool thread tops the pool up again, and the next put takes one of its files (the
  // oldest, so one that exists already).
  std::set<ino_t> pooled;
  for (int wait = 0; wait < 1000 && pooled.empty(); wait++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    pooled.clear();
    for (const fs::directory_entry& e : fs::directory_iterator(tmp)) {
      struct stat st;
      ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
      pooled.insert(st.st_ino);
    }
  }
  ASSERT_FALSE(pooled.empty());
  ASSERT_TRUE(store->Put("wal/last", "v", PutOptions::IfAbsent()).ok());
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/wal/last").c_str(), &st), 0);
  EXPECT_EQ(pooled.count(st.st_ino), 1u);
  store.reset();
  EXPECT_TRUE(fs::is_empty(tmp));
}

TEST(LocalStore, StaleTempFilesAreRemovedOnOpen) {
  TempDir dir("stale");
  ASSERT_NE(MustOpen("file://" + dir.path()), nullptr);
  std::string tmp = dir.path() + "/.cloudkv/tmp/";
  WriteFile(tmp + "old", "crashed put");
  WriteFile(tmp + "new", "put in progress");
  struct timespec times[2] = {{0, UTIME_OMIT}, {::time(nullptr) - 2 * 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (tmp + "old").c_str(), times, 0), 0);
  ASSERT_NE(MustOpen("file://" + dir.path()), nullptr);
  EXPECT_FALSE(fs::exists(tmp + "old"));
  EXPECT_TRUE(fs::exists(tmp + "new"));
}

TEST(LocalStore, KeyAndPrefixConflictIsRefusedCleanly) {
  TempDir dir("conflict");
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path());
  ASSERT_TRUE(store->Put("a/b", "1").ok());
  for (const PutOptions& mode : {PutOptions::Overwrite(), PutOptions::IfAbsent()}) {
    Result<std::string> r = store->Put("a", "2", mode);
    EXPECT_TRUE(r.status().IsNotSupported()) << r.status().ToString();
    r = store->Put("a/b/c", "3", mode);
    EXPECT_TRUE(r.status().IsNotSupported()) << r.status().ToString();
  }
  EXPECT_TRUE(store->Put("a", "2", PutOptions::IfMatch("x")).status().IsPreconditionFailed());
  EXPECT_TRUE(store->Get("a").status().IsNotFound());
  EXPECT_TRUE(store->Get("a/b/c").status().IsNotFound());
  EXPECT_TRUE(store->Delete("a").ok());
  EXPECT_EQ(store->Get("a/b")->data, "1");
  // A segment longer than a file name can be is InvalidArgument.
  EXPECT_TRUE(store->Put("x/" + std::string(256, 'y'), "v").status().IsInvalidArgument());
  EXPECT_TRUE(store->Put("x/." + std::string(254, 'y'), "v").status().IsInvalidArgument());
  EXPECT_TRUE(store->Put("x/" + std::string(255, 'y'), "v").ok());
  // The refused puts left no temp file behind.
  store.reset();
  EXPECT_TRUE(fs::is_empty(dir.path() + "/.cloudkv/tmp"));
}

TEST(LocalStore, EtagsNeverRepeatWhenInodesAreReused) {
  TempDir dir("etags");
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path() + "?fsync=false");
  std::set<std::string> seen;
  std::set<std::string> inodes;
  for (int i = 0; i < 2000; i++) {
    Result<std::string> etag = store->Put("same", "same bytes");
    ASSERT_TRUE(etag.ok());
    EXPECT_TRUE(seen.insert(*etag).second) << "etag repeated: " << *etag;
    inodes.insert(etag->substr(0, etag->find('-')));
    if (i % 2 == 1) {
      ASSERT_TRUE(store->Delete("same").ok());
    }
  }
  // Not an assertion (file-system dependent), but the point of the random mtime: inode numbers
  // do get reused.
  std::printf("distinct inodes over 2000 puts: %zu\n", inodes.size());
}

TEST(LocalStore, SurvivesReopenWithStableEtags) {
  TempDir dir("reopen");
  std::string etag;
  {
    std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path());
    etag = *store->Put("wal/00000000000000000001.wal", "record");
  }
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path());
  Result<GetResult> got = store->Get("wal/00000000000000000001.wal");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "record");
  EXPECT_EQ(got->etag, etag);
  EXPECT_TRUE(store->Put("wal/00000000000000000001.wal", "again", PutOptions::IfMatch(etag)).ok());
}

// A put's etag is the one Head, Get and List report, on every put path: if-absent (link),
// overwrite and if-match (rename). (Puts compute the mtime part of it without reading it back
// where the file system keeps it exactly.)
TEST(LocalStore, PutReturnsTheEtagThatReadsReport) {
  TempDir dir("put-etags");
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path());
  auto check = [&](const std::string& key, const Result<std::string>& put) {
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    Result<ObjectInfo> head = store->Head(key);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->etag, *put) << key;
    Result<GetResult> got = store->Get(key);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->etag, *put) << key;
    Result<ListResult> listed = store->List(key, "", 10);
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->objects.size(), 1u);
    EXPECT_EQ(listed->objects[0].etag, *put) << key;
  };
  check("wal/1.wal", store->Put("wal/1.wal", "in a new directory", PutOptions::IfAbsent()));
  check("absent", store->Put("absent", "at the root", PutOptions::IfAbsent()));
  Result<std::string> first = store->Put("over", "one");
  check("over", first);
  Result<std::string> second = store->Put("over", "two");
  check("over", second);
  EXPECT_NE(*first, *second);
  check("over", store->Put("over", "three", PutOptions::IfMatch(*second)));
}

TEST(LocalStore, DeleteRemovesEmptyParents) {
  TempDir dir("rmdir");
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path());
  ASSERT_TRUE(store->Put("a/b/c/d", "1").ok());
  ASSERT_TRUE(store->Put("a/x", "2").ok());
  ASSERT_TRUE(store->Delete("a/b/c/d").ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/a/b"));
  EXPECT_TRUE(fs::exists(dir.path() + "/a/x"));
  std::vector<std::string> keys = {"a/x", "a/y"};
  ASSERT_TRUE(store->DeleteMany(keys).ok());
  EXPECT_FALSE(fs::exists(dir.path() + "/a"));
  EXPECT_TRUE(fs::exists(dir.path() + "/.cloudkv"));
}

TEST(LocalStore, TwoInstancesInOneProcessExcludeEachOther) {
  // flock(2) locks belong to open file descriptions, so two store objects on one directory
  // exclude each other like two processes do.
  TempDir dir("two");
  std::shared_ptr<ObjectStore> a = MustOpen("file://" + dir.path() + "?fsync=false");
  std::shared_ptr<ObjectStore> b = MustOpen("file://" + dir.path() + "?fsync=false");
  ASSERT_TRUE(a->Put("counter", "0").ok());
  auto work = [](ObjectStore* store, int n) {
    for (int done = 0, attempts = 0; done < n && attempts < 1000000; attempts++) {
      Result<GetResult> cur = store->Get("counter");
      ASSERT_TRUE(cur.ok());
      if (store
              ->Put("counter", std::to_string(std::stoll(cur->data) + 1),
                    PutOptions::IfMatch(cur->etag))
              .ok()) {
        done++;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; i++) threads.emplace_back(work, (i % 2 ? a : b).get(), 100);
  for (auto& t : threads) t.join();
  EXPECT_EQ(a->Get("counter")->data, "400");
}

TEST(LocalStore, ConcurrentPutsAndDeletesInOneDirectory) {
  // Deletes remove empty parents while puts create them: puts must never fail for it.
  TempDir dir("churn");
  std::shared_ptr<ObjectStore> store = MustOpen("file://" + dir.path() + "?fsync=false");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; i++) {
        std::string key = "d/e/" + std::to_string(t);
        Result<std::string> r = store->Put(key, "v");
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_TRUE(store->Delete(key).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(store->List("")->objects.empty());
}

}  // namespace
}  // namespace cloudkv
