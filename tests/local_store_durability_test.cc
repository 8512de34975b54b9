// SPDX-License-Identifier: Apache-2.0
// file:// durability: failed fsyncs, links and renames; objects observed before their put synced
// their directory; the put journal of older versions. A LocalStoreHooks seam fails or holds the
// store's system calls, so each case runs on real files without a real disk error.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "cloudkv/db.h"
#include "db/wal_protocol.h"
#include "format/wal_format.h"
#include "store/stores.h"
#include "support/temp_dir.h"

namespace cloudkv {
namespace {

namespace fs = std::filesystem;
using Op = LocalStoreHooks::Op;

// Records every call; fails the ones armed with Fail(); holds the one armed with Hold() until
// Release().
class TestHooks final : public LocalStoreHooks {
 public:
  int Before(Op op, std::string_view path) override {
    std::unique_lock<std::mutex> lock(mu_);
    calls_.push_back({op, std::string(path)});
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (it->op == op && (it->path == "*" || it->path == path)) {
        int err = it->err;
        if (--it->times == 0) faults_.erase(it);
        return err;
      }
    }
    if (hold_ && hold_op_ == op && hold_path_ == path) {
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_; });
    }
    return 0;
  }

  // Fails the next `times` calls of `op` on `path` ("*": any path) with `err`.
  void Fail(Op op, std::string path, int err, int times = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.push_back({op, std::move(path), err, times});
  }
  void Hold(Op op, std::string path) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
    held_ = false;
    hold_op_ = op;
    hold_path_ = std::move(path);
  }
  void WaitHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return held_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  int Count(Op op, std::string_view path) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& c : calls_) n += c.op == op && c.path == path;
    return n;
  }
  void ClearCalls() {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
  }

 private:
  struct Call {
    Op op;
    std::string path;
  };
  struct Fault {
    Op op;
    std::string path;
    int err;
    int times;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::vector<Fault> faults_;
  bool hold_ = false;
  bool held_ = false;
  Op hold_op_ = Op::kFsyncDir;
  std::string hold_path_;
};

std::shared_ptr<ObjectStore> OpenWithHooks(const std::string& root,
                                           std::shared_ptr<LocalStoreHooks> hooks) {
  std::map<std::string, std::string> params;
  Result<std::shared_ptr<ObjectStore>> store = NewLocalStore(root, &params, std::move(hooks));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? *store : nullptr;
}

// Temp files that hold bytes (the pool's files are empty until a put takes one).
std::vector<std::string> NonEmptyTempFiles(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(root + "/.cloudkv/tmp")) {
    if (fs::file_size(e.path()) > 0) out.push_back(e.path().filename());
  }
  return out;
}

TEST(LocalStoreDurability, AFailedFsyncOfThePutsFileFailsItAndPoisonsTheStore) {
  TempDir dir("fsync-file");
  auto hooks = std::make_shared<TestHooks>();
  auto store = OpenWithHooks(dir.path(), hooks);
  ASSERT_TRUE(store->Put("before", "x").ok());
  hooks->Fail(Op::kFsyncFile, "*", EIO);
  Result<std::string> put = store->Put("wal/1.wal", "bytes", PutOptions::IfAbsent());
  ASSERT_TRUE(put.status().IsIOError()) << put.status().ToString();
  EXPECT_FALSE(put.status().retryable()) << put.status().ToString();
  EXPECT_NE(put.status().message().find("fsync"), std::string::npos) << put.status().ToString();
  EXPECT_TRUE(store->Head("wal/1.wal").status().IsNotFound()) << "a failed put left its object";
  EXPECT_TRUE(NonEmptyTempFiles(dir.path()).empty());

  // Nothing changes through this store any more; reads still work.
  for (const Status& s : {store->Put("wal/1.wal", "bytes", PutOptions::IfAbsent()).status(),
                          store->Put("other", "y").status(), store->Delete("before")}) {
    ASSERT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_FALSE(s.retryable());
    EXPECT_NE(s.message().find("refuses writes"), std::string::npos) << s.ToString();
  }
  EXPECT_EQ(store->Get("before")->data, "x");
  // A store opened again starts clean.
  store = OpenWithHooks(dir.path(), nullptr);
  EXPECT_TRUE(store->Put("wal/1.wal", "bytes", PutOptions::IfAbsent()).ok());
}

// The case the WAL met: the directory fsync after the link fails. The object is visible, so a
// retry of the same put finds "its own" object; it must not be taken for stored.
TEST(LocalStoreDurability, AFailedFsyncOfTheDirectoryIsNeverAcknowledged) {
  TempDir dir("fsync-dir");
  auto hooks = std::make_shared<TestHooks>();
  auto store = OpenWithHooks(dir.path(), hooks);
  ASSERT_TRUE(store->Put("wal/00000000000000000001.wal", "first", PutOptions::IfAbsent()).ok());
  hooks->Fail(Op::kFsyncDir, "wal", EIO);
  const uint64_t id = 2, epoch = 1, nonce = 77;
  WalObjectBuilder builder(id, epoch, nonce);
  const std::string bytes = builder.Finish();
  Status error;
  EXPECT_EQ(PlaceWalObject(store.get(), id, epoch, nonce, bytes, &error), WalPlacement::kFailed)
      << error.ToString();
  EXPECT_FALSE(error.retryable()) << error.ToString();
  // What the WAL writer did before: try again. The store refuses, and the protocol fails.
  EXPECT_EQ(PlaceWalObject(store.get(), id, epoch, nonce, bytes, &error), WalPlacement::kFailed)
      << error.ToString();

  // Another process that reads the object syncs the directory itself before it answers: what
  // it saw cannot vanish in a crash.
  auto reader_hooks = std::make_shared<TestHooks>();
  auto reader = OpenWithHooks(dir.path(), reader_hooks);
  Result<GetResult> got = reader->Get(WalObjectKey(id));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->data, bytes);
  EXPECT_EQ(reader_hooks->Count(Op::kFsyncDir, "wal"), 1);
  EXPECT_EQ(reader_hooks->Count(Op::kFsyncDir, ""), 1);
}

TEST(LocalStoreDurability, FailedLinksAndRenamesLeaveNothingHalfWritten) {
  TempDir dir("link-rename");
  auto hooks = std::make_shared<TestHooks>();
  auto store = OpenWithHooks(dir.path(), hooks);
  hooks->Fail(Op::kLink, "k", EIO);
  Result<std::string> put = store->Put("k", "v", PutOptions::IfAbsent());
  ASSERT_TRUE(put.status().IsIOError()) << put.status().ToString();
  EXPECT_NE(put.status().message().find("link"), std::string::npos) << put.status().ToString();
  EXPECT_TRUE(store->Head("k").status().IsNotFound());

  ASSERT_TRUE(store->Put("over", "one").ok());
  hooks->Fail(Op::kRename, "over", ENOSPC);
  put = store->Put("over", "two");
  ASSERT_TRUE(put.status().IsIOError()) << put.status().ToString();
  EXPECT_EQ(store->Get("over")->data, "one");
  // The marker link of a replacement (its second name in .cloudkv/tmp) fails.
  hooks->Fail(Op::kLink, "*", EMLINK);
  put = store->Put("over", "three");
  ASSERT_TRUE(put.status().IsIOError()) << put.status().ToString();
  EXPECT_EQ(store->Get("over")->data, "one");
  hooks->Fail(Op::kWriteFile, "*", ENOSPC);
  put = store->Put("new", "bytes");
  ASSERT_TRUE(put.status().IsIOError()) << put.status().ToString();
  EXPECT_TRUE(store->Head("new").status().IsNotFound());
  EXPECT_TRUE(NonEmptyTempFiles(dir.path()).empty());

  // None of these was an fsync: the store still writes, and each key's marker is gone.
  ASSERT_TRUE(store->Put("k", "v", PutOptions::IfAbsent()).ok());
  ASSERT_TRUE(store->Put("over", "four").ok());
  EXPECT_TRUE(NonEmptyTempFiles(dir.path()).empty());
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/over").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

// A put held just before its directory fsync: a second store (another process, as far as the
// store is concerned) sees the object, and syncs the directories itself before Get, Head or
// List answer. Once the put has synced, reads sync nothing.
TEST(LocalStoreDurability, AnObjectObservedBeforeItsPutSyncedIsMadeDurableByTheObserver) {
  for (PutMode mode : {PutMode::kIfAbsent, PutMode::kOverwrite, PutMode::kIfMatch}) {
    SCOPED_TRACE(static_cast<int>(mode));
    TempDir dir("observed");
    auto hooks = std::make_shared<TestHooks>();
    auto writer = OpenWithHooks(dir.path(), hooks);
    const std::string key = "manifest/BOUNDARY";
    PutOptions options;
    options.mode = mode;
    if (mode != PutMode::kIfAbsent) {
      Result<std::string> etag = writer->Put(key, "old");
      ASSERT_TRUE(etag.ok());
      options.if_match = *etag;
    }
    hooks->Hold(Op::kFsyncDir, "manifest");
    Result<std::string> put = Status::IOError("not run");
    std::thread thread([&] { put = writer->Put(key, "new", options); });
    hooks->WaitHeld();

    auto reader_hooks = std::make_shared<TestHooks>();
    auto reader = OpenWithHooks(dir.path(), reader_hooks);
    Result<GetResult> got = reader->Get(key);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->data, "new");
    EXPECT_EQ(reader_hooks->Count(Op::kFsyncDir, "manifest"), 1);
    EXPECT_EQ(reader_hooks->Count(Op::kFsyncDir, ""), 1);
    ASSERT_TRUE(reader->Head(key).ok());
    EXPECT_EQ(reader_hooks->Count(Op::kFsyncDir, "manifest"), 2);
    Result<ListResult> listed = reader->List("manifest/");
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->objects.size(), 1u);
    EXPECT_EQ(reader_hooks->Count(Op::kFsyncDir, "manifest"), 3);

    hooks->Release();
    thread.join();
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    reader_hooks->ClearCalls();
    ASSERT_TRUE(reader->Get(key).ok());
    ASSERT_TRUE(reader->Head(key).ok());
    ASSERT_TRUE(reader->List("").ok());
    EXPECT_EQ(reader_hooks->Count(Op::kFsyncDir, "manifest"), 0);
    EXPECT_EQ(reader_hooks->Count(Op::kFsyncDir, ""), 0);
    EXPECT_TRUE(NonEmptyTempFiles(dir.path()).empty());
  }
}

TEST(LocalStoreDurability, APutJournalOfAnOlderVersionIsRefusedAndAnEmptyOneRemoved) {
  TempDir dir("old-journal");
  ASSERT_NE(OpenWithHooks(dir.path(), nullptr), nullptr);
  const std::string journal = dir.path() + "/.cloudkv/journal";
  fs::create_directory(journal);
  std::ofstream(journal + "/1234.5678.0") << "records";
  std::map<std::string, std::string> params;
  Result<std::shared_ptr<ObjectStore>> store = NewLocalStore(dir.path(), &params);
  ASSERT_TRUE(store.status().IsInvalidArgument()) << store.status().ToString();
  EXPECT_NE(store.status().message().find(".cloudkv/journal"), std::string::npos);
  fs::remove(journal + "/1234.5678.0");
  ASSERT_NE(OpenWithHooks(dir.path(), nullptr), nullptr);
  EXPECT_FALSE(fs::exists(journal));
}

// The engine over a store whose directory fsync fails: the write is not acknowledged, the
// writer refuses writes with a clear error and keeps serving reads, and the database opens
// again afterwards with every acknowledged write.
TEST(DurableWrites, AFailedFsyncIsNeverAcknowledgedAndTheWriterBecomesReadOnly) {
  for (const char* dir_name : {"wal", "manifest"}) {
    SCOPED_TRACE(dir_name);
    TempDir dir("db-fsync");
    const std::string url = "file://" + dir.path();
    auto hooks = std::make_shared<TestHooks>();
    Options options;
    options.store = OpenWithHooks(dir.path(), hooks);
    options.gc_interval_ms = 0;
    Result<std::unique_ptr<DB>> db = DB::Open(url, options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Put({}, "acknowledged", "1").ok());
    hooks->Fail(Op::kFsyncDir, dir_name, EIO);
    Status s = std::string(dir_name) == "wal" ? (*db)->Put({}, "failed", "2") : (*db)->Flush();
    ASSERT_FALSE(s.ok()) << "a write whose fsync failed was acknowledged";
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_NE(s.message().find("fsync"), std::string::npos) << s.ToString();
    Status later = (*db)->Put({}, "later", "3");
    ASSERT_FALSE(later.ok());
    EXPECT_NE(later.message().find("fsync"), std::string::npos) << later.ToString();
    Result<std::string> read = (*db)->Get({}, "acknowledged");
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, "1");
    db->reset();

    Options plain;
    plain.gc_interval_ms = 0;
    db = DB::Open(url, plain);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ(*(*db)->Get({}, "acknowledged"), "1");
    EXPECT_TRUE((*db)->Get({}, "later").status().IsNotFound());
    ASSERT_TRUE((*db)->Put({}, "after reopen", "4").ok());
    EXPECT_EQ(*(*db)->Get({}, "after reopen"), "4");
  }
}

}  // namespace
}  // namespace cloudkv
