// SPDX-License-Identifier: Apache-2.0
// ctest-labels: tsan
// file:// backend: layout, options, errors, and atomicity across processes and crashes.
//
// The cross-process tests start this test program again as child processes
// (support/child_process.h): clients that race on one store directory, or a writer to kill.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "store/stores.h"
#include "support/child_process.h"
#include "support/temp_dir.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/random.h"

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

// --- Child processes: clients of one store directory that race, or a writer that is killed. ---

// A client that opened the store says "ready" and waits for "go", so clients start together.
void ReadyThenWaitForGo() {
  if (!WriteLineToParent("ready")) ChildFail("cannot report to the parent");
  if (ReadLineFromParent() != "go") ChildFail("expected \"go\" from the parent");
}

std::shared_ptr<ObjectStore> ChildOpen(const std::string& url) {
  Result<std::shared_ptr<ObjectStore>> store = OpenObjectStore(url);
  ChildCheckOk(store.status(), "open " + url);
  return *store;
}

// Tries to make `successes` if-match increments of "counter" (in at most a million attempts);
// returns how many it made.
int IncrementByIfMatch(ObjectStore& store, int successes) {
  int done = 0;
  for (int attempts = 0; done < successes && attempts < 1000000; attempts++) {
    Result<GetResult> cur = store.Get("counter");
    ChildCheckOk(cur.status(), "get counter");
    std::string next = std::to_string(std::stoll(cur->data) + 1);
    Result<std::string> r = store.Put("counter", next, PutOptions::IfMatch(cur->etag));
    if (r.ok()) {
      done++;
    } else if (!r.status().IsPreconditionFailed()) {
      ChildFail("if-match put: " + r.status().ToString());
    }
  }
  return done;
}

// args: url, n. Makes n if-match increments of "counter"; reports how many succeeded.
CLOUDKV_CHILD_MAIN(cas_client) {
  std::shared_ptr<ObjectStore> store = ChildOpen(args.at(0));
  const int n = std::stoi(args.at(1));
  ReadyThenWaitForGo();
  if (!WriteLineToParent(std::to_string(IncrementByIfMatch(*store, n)))) {
    ChildFail("cannot report to the parent");
  }
  return 0;
}

// args: url, id, n. For round r < n, tries to create "race/r" holding id; reports each round won.
CLOUDKV_CHILD_MAIN(if_absent_client) {
  std::shared_ptr<ObjectStore> store = ChildOpen(args.at(0));
  const std::string& id = args.at(1);
  const int n = std::stoi(args.at(2));
  ReadyThenWaitForGo();
  for (int round = 0; round < n; round++) {
    Result<std::string> r = store->Put("race/" + std::to_string(round), id, PutOptions::IfAbsent());
    if (r.ok()) {
      if (!WriteLineToParent(std::to_string(round))) ChildFail("cannot report to the parent");
    } else if (!r.status().IsPreconditionFailed()) {
      ChildFail("if-absent put: " + r.status().ToString());
    }
  }
  return 0;
}

// args: url, seed. Overwrites, creates and deletes checksummed objects until killed; says "ready"
// after 20 of them.
CLOUDKV_CHILD_MAIN(crash_writer) {
  std::shared_ptr<ObjectStore> store = ChildOpen(args.at(0));
  Random rnd(std::stoull(args.at(1)));
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
      default:
        ChildCheckOk(store->Put(key, payload).status(), "put " + key);
    }
    if (version == 20 && !WriteLineToParent("ready")) ChildFail("cannot report to the parent");
  }
}

// Spawns the child `name` and waits for its "ready". IOError if it cannot start, or ends or
// says something else first.
Result<ChildProcess> SpawnReady(const std::string& name, const ChildOptions& options) {
  Result<ChildProcess> child = ChildProcess::Spawn(name, options);
  if (!child.ok()) return child;
  std::optional<std::string> line = child->ReadLine();
  if (line != "ready") {
    child->Kill();
    return Status::IOError(name + " did not start: it said '" + line.value_or("") +
                           "' and ended with " + std::to_string(child->Wait()) +
                           " (see its output)");
  }
  return child;
}

TEST(LocalStoreMultiProcess, IfMatchCasRaceAcrossProcesses) {
  TempDir dir("mp-cas");
  const std::string url = "file://" + dir.path() + "/db";
  std::shared_ptr<ObjectStore> store = MustOpen(url);
  ASSERT_TRUE(store->Put("counter", "0").ok());
  const int kChildren = 3, kIncrements = 40;
  std::vector<ChildProcess> children;
  for (int i = 0; i < kChildren; i++) {
    Result<ChildProcess> child =
        SpawnReady("cas_client", {.args = {url, std::to_string(kIncrements)}});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    children.push_back(std::move(child).value());
  }
  for (ChildProcess& child : children) ASSERT_TRUE(child.WriteLine("go").ok());
  // This process races too, through its own store instance.
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
    std::vector<std::string> lines = children[i].ReadLinesToEnd();
    ASSERT_EQ(children[i].Wait(), 0) << "child " << i;
    ASSERT_EQ(lines.size(), 1u) << "child " << i;
    total += std::stoi(lines[0]);
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
    std::vector<ChildProcess> children;
    for (int i = 0; i < kChildren; i++) {
      Result<ChildProcess> child =
          SpawnReady("if_absent_client",
                     {.args = {url, "child" + std::to_string(i), std::to_string(kRounds)}});
      ASSERT_TRUE(child.ok()) << child.status().ToString();
      children.push_back(std::move(child).value());
    }
    for (ChildProcess& child : children) ASSERT_TRUE(child.WriteLine("go").ok());
    std::map<int, std::vector<int>> winners;  // round -> children that won it
    for (int i = 0; i < kChildren; i++) {
      for (const std::string& round : children[i].ReadLinesToEnd()) {
        winners[std::stoi(round)].push_back(i);
      }
      ASSERT_EQ(children[i].Wait(), 0) << "child " << i;
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
      Result<ChildProcess> child =
          SpawnReady("crash_writer", {.args = {url, std::to_string(seed + cycle)}});
      ASSERT_TRUE(child.ok()) << child.status().ToString();
      // Let it run a little further so the kill lands at an arbitrary point of some put.
      std::this_thread::sleep_for(std::chrono::milliseconds(rnd.Range(1, 100)));
      child->Kill();
      ASSERT_EQ(child->Wait(), 128 + SIGKILL) << "the writer ended before the kill";

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
