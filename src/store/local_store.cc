// SPDX-License-Identifier: Apache-2.0
// file://: objects as files in a local directory (docs/object-stores.md, "The file:// backend").
//
// On-disk layout under the root directory:
//   <segment>/<segment>/.../<segment>   one regular file per object; '/' in a key is a directory
//   .cloudkv/tmp/<pid>.<n>.<nonce>       a put's bytes before they are committed (never listed),
//                                        and the second name of an object not yet durable
//   .cloudkv/locks/<stripe>              lock files for flock(2), one per stripe (kLockStripes)
// A key segment that starts with '.' is stored with one more '.' in front, so no key can name
// .cloudkv (or any other name with a single leading dot, which listing skips as foreign).
//
// Protocol (every mutation of a key runs under the key's stripe lock, which is an in-process
// mutex plus flock(2) on the stripe's lock file, so it excludes other threads and processes):
//   put:    take an empty temp file from the pool (or create one), write the bytes, set its
//           mtime to (now, random nanoseconds), fsync it; take the lock; for if-match, stat the
//           target and compare etags; commit with link(2) (if-absent: EEXIST =
//           PreconditionFailed) or, for overwrite and if-match, link a second temp name to the
//           file and rename(2) the first over the key; fsync the key's directory and the parent
//           of every directory the put created; release the lock; unlink the temp name left.
//   not yet durable: from the commit until its directory fsync returns, the object's inode has
//           a second name in .cloudkv/tmp, so its link count is 2. A get, head or list that
//           sees a link count above 1 fsyncs the object's directories itself before it answers,
//           so an object that any process has observed never disappears in a crash (a new
//           writer could otherwise replay a WAL object, fence the id after it, and lose both).
//   fsync errors: a failed fsync of a file or a directory fails the call with a non-retryable
//           IOError and poisons the store: every later put and delete fails until the store is
//           opened again. Linux reports a writeback error once; a later fsync that succeeds
//           says nothing of the pages it dropped, so nothing after it could be acknowledged
//           honestly (PostgreSQL's answer to "fsyncgate" is the same).
//   pool:   a background thread creates and fsyncs empty temp files ahead of the puts (at most
//           temp_pool of them), so that creating a file, and on ext4 without a journal syncing
//           the temp directory's new entry, is off a put's path (docs/object-stores.md).
//   delete: under the lock unlink(2); fsync the directory; rmdir(2) empty parents best-effort.
//   get/head/list: no locks; a file is never modified after its commit, so an open descriptor
//           reads exactly one version.
// ETag: "<inode>-<mtime ns>-<size>" in hex. Each put creates a new inode, and its mtime carries
// 30 random bits in the nanoseconds, so a recycled inode number does not repeat an etag.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "store/posix_file.h"
#include "store/stores.h"
#include "util/hash.h"
#include "util/logging.h"
#include "util/mutex.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

constexpr char kInternalDir[] = ".cloudkv";
constexpr size_t kLockStripes = 256;
constexpr size_t kMaxSegmentBytes = 255;                 // NAME_MAX on Linux file systems
constexpr uint64_t kMaxObjectBytes = uint64_t{5} << 30;  // S3's single-PUT limit
constexpr int kMaxCommitAttempts = 64;                   // against racing rmdir of parents
constexpr size_t kMaxListDepth = 512;                    // a 1024-byte key has <= 512 segments
constexpr uint64_t kStaleTempSeconds = 3600;
// A pooled temp file older than this is not used but removed, well before another process's
// open could take it for a crashed put's leftover (kStaleTempSeconds).
constexpr uint64_t kPooledTempMaxSeconds = 600;
std::string EtagOf(const struct stat& st) {
  uint64_t mtime_ns = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000ull +
                      static_cast<uint64_t>(st.st_mtim.tv_nsec);
  return fmt::format("{:x}-{:x}-{:x}", static_cast<uint64_t>(st.st_ino), mtime_ns,
                     static_cast<uint64_t>(st.st_size));
}

// Maps a valid key to its path relative to the root. InvalidArgument when a segment is longer
// than a file name may be.
Result<std::string> KeyToPath(std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  std::string path;
  path.reserve(key.size() + 8);
  size_t start = 0;
  while (start <= key.size()) {
    size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) slash = key.size();
    std::string_view seg = key.substr(start, slash - start);
    if (seg.front() == '.') path.push_back('.');
    if (seg.size() + (seg.front() == '.' ? 1 : 0) > kMaxSegmentBytes) {
      return Status::InvalidArgument("object key '" + std::string(key.substr(0, 200)) +
                                     "': file:// cannot store a segment longer than 255 bytes");
    }
    path.append(seg);
    if (slash < key.size()) path.push_back('/');
    start = slash + 1;
  }
  return path;
}

// Decodes a directory entry name into a key segment; false for names that are not ours
// (a single leading dot: internal or foreign) or that no key could produce.
bool NameToSegment(std::string_view name, std::string* segment) {
  if (name.empty() || name == "." || name == "..") return false;
  if (name[0] == '.') {
    if (name.size() < 2 || name[1] != '.') return false;
    name.remove_prefix(1);
    if (name == "." || name == "..") return false;
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  segment->assign(name);
  return true;
}

std::string_view ParentOf(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

class LocalStore final : public ObjectStore {
 public:
  LocalStore(std::string display_root, UniqueFd root, UniqueFd tmp, UniqueFd locks, bool fsync,
             size_t temp_pool, std::shared_ptr<LocalStoreHooks> hooks)
      : display_root_(std::move(display_root)),
        root_fd_(std::move(root)),
        tmp_fd_(std::move(tmp)),
        lock_dir_fd_(std::move(locks)),
        fsync_(fsync),
        nonce_(RandomSeed()),
        pool_capacity_(fsync ? temp_pool : 0),
        hooks_(std::move(hooks)),
        rng_(RandomSeed()) {}
  ~LocalStore() override;

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  Status DeleteMany(std::span<const std::string> keys) override;
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override;
  std::string Describe() const override { return "file://" + display_root_; }

  void RemoveStaleTempFiles();
  // Finds out whether the file system keeps a futimens mtime to the nanosecond (see WriteTemp).
  void ProbeMtimePrecision();

 private:
  using Op = LocalStoreHooks::Op;

  struct Stripe {
    std::mutex mu;
    UniqueFd fd;  // the stripe's lock file, opened on first use; guarded by mu
  };

  // Holds a key's stripe: the mutex (threads) and an exclusive flock (processes).
  class KeyLock {
   public:
    KeyLock() = default;
    KeyLock(const KeyLock&) = delete;
    KeyLock& operator=(const KeyLock&) = delete;
    ~KeyLock() { Unlock(); }
    void Unlock() {
      if (stripe_ == nullptr) return;
      ::flock(stripe_->fd.get(), LOCK_UN);
      stripe_->mu.unlock();
      stripe_ = nullptr;
    }

   private:
    friend class LocalStore;
    Stripe* stripe_ = nullptr;
  };

  struct ListEntry {
    std::string sort_key;  // the key, or for a directory the key prefix ending in '/'
    std::string name;      // the entry's name on disk
    bool is_dir;
  };

  // What a commit did, for the put to finish or undo.
  struct CommitState {
    // The temp file's name was given to the key (link); else it is still the temp's only name
    // or was renamed onto the key.
    bool linked = false;
    bool renamed = false;
    // For a rename: a second name of the file in .cloudkv/tmp, which marks the object as not
    // yet durable (see the protocol above).
    std::string marker;
    std::vector<std::string> dirs_to_sync;  // directories whose entries changed
  };

  Status LockKey(std::string_view key, KeyLock* lock);
  Status Missing(std::string_view key) const {
    return Status::NotFound("'" + std::string(key) + "' not found in " + Describe());
  }
  Status Conflict(std::string_view key) const {
    return Status::NotSupported("'" + std::string(key) + "' in " + Describe() +
                                ": a key and a key below it ('k' and 'k/...') cannot coexist in "
                                "file://");
  }
  // The test seam: the errno to fail `op` with, or 0 to make the call.
  int Hook(Op op, std::string_view path) const {
    return hooks_ == nullptr ? 0 : hooks_->Before(op, path);
  }
  // A failed fsync: poisons the store and returns the non-retryable error for the call.
  Status FsyncFailed(std::string_view what, std::string_view path, int err);
  // OK, or why the store refuses to change anything (an earlier fsync failed).
  Status CheckWritable() const;

  // An empty temp file in .cloudkv/tmp, made ahead of a put by the pool thread.
  struct PooledTemp {
    std::string name;
    UniqueFd fd;           // open for writing
    uint64_t created = 0;  // seconds since the epoch
  };

  std::string NewTempName();
  // Returns an empty temp file from the pool, or nullopt when the pool is off or empty (the put
  // then creates its own). Starts the pool thread on first use and wakes it when the pool runs
  // low.
  std::optional<PooledTemp> TakePooledTemp();
  // Creates and fsyncs `count` empty temp files, appending them to *out; on an error, the ones
  // made so far.
  Status CreatePooledTemps(size_t count, std::vector<PooledTemp>* out);
  void FillPool();  // the pool thread's loop
  // Writes `data` into the temp file `tmp_name` in .cloudkv/tmp: the empty file open as `fd`
  // (from the pool), or a new one when `fd` is not valid. Syncs it (when the store syncs at
  // all) and closes it.
  Status WriteTemp(std::string_view key, const std::string& tmp_name, UniqueFd fd,
                   std::string_view data, struct stat* st);
  // Gives the temp file `tmp_name` the key's path. REQUIRES: the key's lock is held.
  Status CommitLocked(std::string_view key, const std::string& path, const std::string& tmp_name,
                      const PutOptions& options, CommitState* state);
  Status CreateParents(const std::string& path, std::vector<std::string>* dirs_to_sync);
  // fsyncs a directory (relative to the root; "" is the root). A missing directory is OK when
  // `missing_ok`.
  Status SyncDir(std::string_view rel_dir, bool missing_ok = false);
  // fsyncs each directory once, sorted.
  Status SyncDirs(std::vector<std::string> dirs, bool missing_ok = false);
  // For an object seen with more than one link (its put may not have synced its directory
  // yet): fsyncs the directory of `path` and every ancestor up to the root, so that what the
  // caller observed stays after a crash.
  Status MakeObservedDurable(std::string_view path);
  void RemoveEmptyParents(std::string_view path);
  // Lists `rel_dir` into *out. Directories holding an object seen with more than one link are
  // added to *unsynced.
  Status ListDir(const std::string& rel_dir, const std::string& key_prefix, size_t depth,
                 std::string_view prefix, std::string_view start_after, size_t want,
                 std::vector<ObjectInfo>* out, std::vector<std::string>* unsynced);

  // Constant after construction.
  const std::string display_root_;
  const UniqueFd root_fd_;
  const UniqueFd tmp_fd_;
  const UniqueFd lock_dir_fd_;
  const bool fsync_;
  // The file system stores a futimens mtime exactly: WriteTemp reads back only the inode and
  // size. Set once at open.
  bool exact_mtime_ = false;
  const uint64_t nonce_;
  std::atomic<uint64_t> temp_counter_{0};
  const size_t pool_capacity_;                    // 0: no pool
  const std::shared_ptr<LocalStoreHooks> hooks_;  // null outside tests

  // Set once by the first failed fsync; never cleared (a new store instance starts clean).
  std::atomic<bool> poisoned_{false};
  mutable Mutex poison_mu_;
  Status poison_ GUARDED_BY(poison_mu_);

  Mutex pool_mu_;
  CondVar pool_cv_{&pool_mu_};  // wakes the pool thread: filling_ or pool_stop_ set
  std::deque<PooledTemp> pool_ GUARDED_BY(pool_mu_);
  bool filling_ GUARDED_BY(pool_mu_) = true;  // the thread tops the pool up to capacity
  bool pool_stop_ GUARDED_BY(pool_mu_) = false;
  bool pool_warned_ GUARDED_BY(pool_mu_) = false;  // a failure to create one is logged once
  std::thread pool_thread_ GUARDED_BY(pool_mu_);   // started by the first put that wants one

  Mutex rng_mu_;
  Random rng_ GUARDED_BY(rng_mu_);
  std::array<Stripe, kLockStripes> stripes_;
};

Status LocalStore::LockKey(std::string_view key, KeyLock* lock) {
  assert(lock->stripe_ == nullptr);
  // Hash64 is stable across processes and builds, so every process picks the same stripe.
  Stripe& stripe = stripes_[Hash64(key) % kLockStripes];
  stripe.mu.lock();
  size_t index = static_cast<size_t>(&stripe - stripes_.data());
  if (!stripe.fd.valid()) {
    std::string name = std::to_string(index);
    int fd = ::openat(lock_dir_fd_.get(), name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      int err = errno;
      stripe.mu.unlock();
      return PosixError("open lock file", display_root_ + "/.cloudkv/locks/" + name, err);
    }
    stripe.fd = UniqueFd(fd);
  }
  while (::flock(stripe.fd.get(), LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    stripe.mu.unlock();
    return PosixError("flock", display_root_ + "/.cloudkv/locks/" + std::to_string(index), err);
  }
  lock->stripe_ = &stripe;
  return Status::OK();
}

std::string LocalStore::NewTempName() {
  return fmt::format("{}.{}.{:x}", ::getpid(), temp_counter_.fetch_add(1), nonce_);
}

Status LocalStore::FsyncFailed(std::string_view what, std::string_view path, int err) {
  Status s = Status::IOError(
      std::string(what) + " '" + std::string(path) + "': " + std::strerror(err) +
          "; what it was to make durable may be lost, so it is not acknowledged, and " +
          Describe() + " refuses writes until it is opened again",
      /*retryable=*/false);
  MutexLock lock(&poison_mu_);
  if (poison_.ok()) poison_ = s;
  poisoned_.store(true, std::memory_order_release);
  LOG_ERROR("{}", s.ToString());
  return s;
}

Status LocalStore::CheckWritable() const {
  if (!poisoned_.load(std::memory_order_acquire)) return Status::OK();
  MutexLock lock(&poison_mu_);
  return Status::IOError(Describe() + " refuses writes since an fsync failed (" +
                             std::string(poison_.message()) + "); open the store again",
                         /*retryable=*/false);
}

LocalStore::~LocalStore() {
  std::thread thread;
  {
    MutexLock lock(&pool_mu_);
    pool_stop_ = true;
    thread = std::move(pool_thread_);
  }
  pool_cv_.SignalAll();
  if (thread.joinable()) thread.join();
  MutexLock lock(&pool_mu_);
  for (const PooledTemp& t : pool_) ::unlinkat(tmp_fd_.get(), t.name.c_str(), 0);
}

std::optional<LocalStore::PooledTemp> LocalStore::TakePooledTemp() {
  if (pool_capacity_ == 0) return std::nullopt;
  const uint64_t now = static_cast<uint64_t>(::time(nullptr));
  std::optional<PooledTemp> taken;
  std::vector<std::string> expired;
  bool wake = false;
  {
    MutexLock lock(&pool_mu_);
    if (!pool_thread_.joinable() && !pool_stop_) pool_thread_ = std::thread([this] { FillPool(); });
    while (!pool_.empty() && !taken) {
      PooledTemp t = std::move(pool_.front());
      pool_.pop_front();
      if (t.created + kPooledTempMaxSeconds < now) {
        expired.push_back(std::move(t.name));
      } else {
        taken = std::move(t);
      }
    }
    if (!filling_ && pool_.size() <= pool_capacity_ / 2) wake = filling_ = true;
  }
  if (wake) pool_cv_.Signal();
  for (const std::string& name : expired) ::unlinkat(tmp_fd_.get(), name.c_str(), 0);
  return taken;
}

Status LocalStore::CreatePooledTemps(size_t count, std::vector<PooledTemp>* out) {
  const size_t first = out->size();
  Status status;
  for (size_t i = 0; i < count; i++) {
    PooledTemp t;
    t.name = NewTempName();
    t.fd = UniqueFd(
        ::openat(tmp_fd_.get(), t.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!t.fd.valid()) {
      status = PosixError("create temp file", display_root_ + "/.cloudkv/tmp/" + t.name, errno);
      break;
    }
    out->push_back(std::move(t));
  }
  const uint64_t now = static_cast<uint64_t>(::time(nullptr));
  for (size_t i = first; i < out->size(); i++) (*out)[i].created = now;
  // On ext4 without a journal, a new file's first fsync also syncs its directory. Syncing the
  // batch here takes that off the puts' path, and the directory is written once for the batch
  // (with a journal it costs one commit). A failure here only drops the file from the pool:
  // nothing was promised about it.
  for (size_t i = first; i < out->size();) {
    PooledTemp& t = (*out)[i];
    if (int err = FsyncFd(t.fd.get()); err != 0) {
      if (status.ok()) status = PosixError("fsync", display_root_ + "/.cloudkv/tmp/" + t.name, err);
      ::unlinkat(tmp_fd_.get(), t.name.c_str(), 0);
      out->erase(out->begin() + static_cast<ptrdiff_t>(i));
      continue;
    }
    i++;
  }
  return status;
}

void LocalStore::FillPool() {
  while (true) {
    size_t want;
    {
      MutexLock lock(&pool_mu_);
      while (!pool_stop_ && !filling_) pool_cv_.Wait(&pool_mu_);
      if (pool_stop_) return;
      want = pool_capacity_ > pool_.size() ? pool_capacity_ - pool_.size() : 0;
    }
    std::vector<PooledTemp> made;
    Status s = want > 0 ? CreatePooledTemps(want, &made) : Status::OK();
    MutexLock lock(&pool_mu_);
    for (PooledTemp& t : made) pool_.push_back(std::move(t));
    // Puts create their own temp files while the pool is empty; after a failure, the next put
    // that finds the pool low tries again.
    if (!s.ok() && !pool_warned_) {
      LOG_WARN("{}: temp file pool: {}", Describe(), s.ToString());
      pool_warned_ = true;
    }
    if (!s.ok() || pool_.size() >= pool_capacity_) filling_ = false;
  }
}

Status LocalStore::WriteTemp(std::string_view key, const std::string& tmp_name, UniqueFd fd,
                             std::string_view data, struct stat* st) {
  if (!fd.valid()) {
    fd = UniqueFd(
        ::openat(tmp_fd_.get(), tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  }
  std::string where =
      display_root_ + "/.cloudkv/tmp/" + tmp_name + " (for '" + std::string(key) + "')";
  if (!fd.valid()) return PosixError("create temp file", where, errno);
  int err = Hook(Op::kWriteFile, tmp_name);
  if (err == 0) err = WriteFully(fd.get(), data);
  if (err != 0) return PosixError("write", where, err);
  // The etag includes the mtime; random nanoseconds keep it unique even when the inode number
  // of a deleted version is reused within one tick of the file system's clock.
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = ::time(nullptr);
  {
    MutexLock lock(&rng_mu_);
    times[1].tv_nsec = static_cast<long>(rng_.Uniform(1'000'000'000));
  }
  if (::futimens(fd.get(), times) != 0) return PosixError("futimens", where, errno);
  if (fsync_) {
    err = Hook(Op::kFsyncFile, tmp_name);
    if (err == 0) err = FsyncFd(fd.get());
    if (err != 0) return FsyncFailed("fsync", where, err);
  }
  if (exact_mtime_) {
    // Not fstat: reading a file's timestamps marks them queried (Linux 6.13+ multigrain
    // timestamps), and the link and unlink that follow then take a fine-grained time, which
    // raises the clock that every other file's next write reads its mtime from
    // (docs/object-stores.md).
    struct statx stx;
    if (::statx(fd.get(), "", AT_EMPTY_PATH, STATX_INO | STATX_SIZE, &stx) != 0) {
      return PosixError("statx", where, errno);
    }
    *st = {};
    st->st_ino = static_cast<ino_t>(stx.stx_ino);
    st->st_size = static_cast<off_t>(stx.stx_size);
    st->st_mtim = times[1];
  } else if (::fstat(fd.get(), st) != 0) {
    return PosixError("fstat", where, errno);
  }
  if (int close_err = fd.Close(); close_err != 0) return PosixError("close", where, close_err);
  return Status::OK();
}

void LocalStore::ProbeMtimePrecision() {
  const std::string name = NewTempName();
  UniqueFd fd(::openat(tmp_fd_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return;  // stays false: puts read the mtime back
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = ::time(nullptr);
  times[1].tv_nsec = 987'654'321;
  struct stat st;
  exact_mtime_ = ::futimens(fd.get(), times) == 0 && ::fstat(fd.get(), &st) == 0 &&
                 st.st_mtim.tv_sec == times[1].tv_sec && st.st_mtim.tv_nsec == times[1].tv_nsec;
  fd.Close();
  ::unlinkat(tmp_fd_.get(), name.c_str(), 0);
}

Status LocalStore::SyncDir(std::string_view rel_dir, bool missing_ok) {
  const std::string shown =
      rel_dir.empty() ? display_root_ : display_root_ + "/" + std::string(rel_dir);
  UniqueFd owned;
  int fd = root_fd_.get();
  if (!rel_dir.empty()) {
    std::string dir(rel_dir);
    owned = UniqueFd(::openat(root_fd_.get(), dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!owned.valid()) {
      if (missing_ok && errno == ENOENT) return Status::OK();
      return PosixError("open directory", shown, errno);
    }
    fd = owned.get();
  }
  int err = Hook(Op::kFsyncDir, rel_dir);
  if (err == 0) err = FsyncFd(fd);
  if (err != 0) return FsyncFailed("fsync directory", shown, err);
  return Status::OK();
}

Status LocalStore::SyncDirs(std::vector<std::string> dirs, bool missing_ok) {
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  // Deepest first: a directory's entry in its parent is synced after the directory itself.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) RETURN_IF_ERROR(SyncDir(*it, missing_ok));
  return Status::OK();
}

Status LocalStore::MakeObservedDurable(std::string_view path) {
  std::vector<std::string> dirs;
  for (std::string_view dir = ParentOf(path);; dir = ParentOf(dir)) {
    dirs.emplace_back(dir);
    if (dir.empty()) break;
  }
  // A directory removed meanwhile took the object with it: nothing of it to keep.
  return SyncDirs(std::move(dirs), /*missing_ok=*/true);
}

Status LocalStore::CreateParents(const std::string& path, std::vector<std::string>* dirs_to_sync) {
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdirat(root_fd_.get(), dir.c_str(), 0755) != 0 && errno != EEXIST) {
      if (errno == ENOTDIR) return Status::NotFound("parent is a file");
      // A racing delete removed an ancestor just created: the caller's commit retries.
      if (errno == ENOENT) return Status::OK();
      return PosixError("mkdir", display_root_ + "/" + dir, errno);
    }
    // Sync the parent whether or not this put created the directory: a racing put that did
    // may not have synced it yet, and this put must be durable when it returns.
    dirs_to_sync->emplace_back(ParentOf(dir));
  }
  return Status::OK();
}

Status LocalStore::CommitLocked(std::string_view key, const std::string& path,
                                const std::string& tmp_name, const PutOptions& options,
                                CommitState* state) {
  if (options.mode == PutMode::kIfMatch) {
    struct stat st;
    if (::fstatat(root_fd_.get(), path.c_str(), &st, 0) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) {
        return PosixError("stat", display_root_ + "/" + path, errno);
      }
      return Status::PreconditionFailed("'" + std::string(key) + "' does not exist in " +
                                        Describe() + " (if-match '" + options.if_match + "')");
    }
    if (!S_ISREG(st.st_mode) || EtagOf(st) != options.if_match) {
      return Status::PreconditionFailed("'" + std::string(key) + "' in " + Describe() +
                                        " does not have etag '" + options.if_match + "'");
    }
  }
  const bool link = options.mode == PutMode::kIfAbsent;
  if (!link && fsync_) {
    // The rename takes the temp name away: a second one marks the object not yet durable.
    state->marker = NewTempName();
    int err = Hook(Op::kLink, state->marker);
    if (err == 0 &&
        ::linkat(tmp_fd_.get(), tmp_name.c_str(), tmp_fd_.get(), state->marker.c_str(), 0) != 0) {
      err = errno;
    }
    if (err != 0) {
      state->marker.clear();
      return PosixError("link", display_root_ + "/.cloudkv/tmp/" + tmp_name, err);
    }
  }
  for (int attempt = 0; attempt < kMaxCommitAttempts; attempt++) {
    int err = Hook(link ? Op::kLink : Op::kRename, path);
    if (err == 0) {
      int rc = link ? ::linkat(tmp_fd_.get(), tmp_name.c_str(), root_fd_.get(), path.c_str(), 0)
                    : ::renameat(tmp_fd_.get(), tmp_name.c_str(), root_fd_.get(), path.c_str());
      err = rc == 0 ? 0 : errno;
    }
    if (err == 0) {
      (link ? state->linked : state->renamed) = true;
      state->dirs_to_sync.emplace_back(ParentOf(path));
      return Status::OK();
    }
    if (err == ENOENT) {
      // A parent directory is missing (new, or removed by a racing delete): create it.
      Status s = CreateParents(path, &state->dirs_to_sync);
      if (s.IsNotFound()) return Conflict(key);
      RETURN_IF_ERROR(s);
      continue;
    }
    if (err == EEXIST && link) {
      struct stat st;
      if (::fstatat(root_fd_.get(), path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISDIR(st.st_mode)) {
        return Conflict(key);
      }
      return Status::PreconditionFailed("'" + std::string(key) + "' already exists in " +
                                        Describe());
    }
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST || err == ENOTDIR) return Conflict(key);
    return PosixError(link ? "link" : "rename", display_root_ + "/" + path, err);
  }
  return Status::IOError("'" + std::string(key) + "' in " + Describe() +
                             ": parent directories kept disappearing (racing deletes)",
                         true);
}

Result<std::string> LocalStore::Put(std::string_view key, std::string_view data,
                                    const PutOptions& options) {
  ASSIGN_OR_RETURN(std::string path, KeyToPath(key));
  if (data.size() > kMaxObjectBytes) {
    return Status::InvalidArgument("object '" + std::string(key) + "' is " +
                                   std::to_string(data.size()) + " bytes; the limit is 5 GiB");
  }
  RETURN_IF_ERROR(CheckWritable());
  std::optional<PooledTemp> pooled = TakePooledTemp();
  std::string tmp_name = pooled ? std::move(pooled->name) : NewTempName();
  struct stat st;
  Status s = WriteTemp(key, tmp_name, pooled ? std::move(pooled->fd) : UniqueFd(), data, &st);
  CommitState state;
  if (s.ok()) {
    KeyLock lock;
    s = LockKey(key, &lock);
    if (s.ok()) s = CommitLocked(key, path, tmp_name, options, &state);
    // Under the lock: the next change of this key (a replacement, or a delete by GC) comes
    // after this version is durable.
    if (s.ok() && fsync_) s = SyncDirs(std::move(state.dirs_to_sync));
  }
  const bool committed = state.linked || state.renamed;
  if (committed && !s.ok()) {
    // The object is visible but its directory entry may not be durable. Its second name stays
    // (until stale temp files are removed), so that whoever reads it syncs the directory first.
    return s;
  }
  if (!state.renamed) ::unlinkat(tmp_fd_.get(), tmp_name.c_str(), 0);
  if (!state.marker.empty()) ::unlinkat(tmp_fd_.get(), state.marker.c_str(), 0);
  RETURN_IF_ERROR(s);
  return EtagOf(st);
}

Result<GetResult> LocalStore::Get(std::string_view key, std::optional<ByteRange> range) {
  ASSIGN_OR_RETURN(std::string path, KeyToPath(key));
  UniqueFd fd(::openat(root_fd_.get(), path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return Missing(key);
    return PosixError("open", display_root_ + "/" + path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("fstat", display_root_ + "/" + path, errno);
  if (!S_ISREG(st.st_mode)) return Missing(key);
  if (fsync_ && st.st_nlink > 1) RETURN_IF_ERROR(MakeObservedDurable(path));
  GetResult out;
  out.etag = EtagOf(st);
  out.object_size = static_cast<uint64_t>(st.st_size);
  uint64_t offset = 0, length = out.object_size;
  if (range) {
    if (range->length == 0) return out;
    if (range->offset >= out.object_size) {
      return Status::InvalidArgument("range starts at " + std::to_string(range->offset) +
                                     ", past the end of '" + std::string(key) + "' (" +
                                     std::to_string(out.object_size) + " bytes)");
    }
    offset = range->offset;
    length = std::min(range->length, out.object_size - offset);
  } else if (length > kMaxObjectBytes) {
    return Status::InvalidArgument("'" + std::string(key) + "' is " + std::to_string(length) +
                                   " bytes, more than a whole-object get may read (5 GiB); "
                                   "read it in ranges");
  }
  out.data.resize(length);
  int err = PreadFully(fd.get(), out.data.data(), length, offset);
  if (err == -1) {
    return Status::Corruption("'" + std::string(key) + "' in " + Describe() +
                              " shrank while being read (modified outside cloudkv?)");
  }
  if (err != 0) return PosixError("read", display_root_ + "/" + path, err);
  return out;
}

Result<ObjectInfo> LocalStore::Head(std::string_view key) {
  ASSIGN_OR_RETURN(std::string path, KeyToPath(key));
  struct stat st;
  if (::fstatat(root_fd_.get(), path.c_str(), &st, 0) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Missing(key);
    return PosixError("stat", display_root_ + "/" + path, errno);
  }
  if (!S_ISREG(st.st_mode)) return Missing(key);
  if (fsync_ && st.st_nlink > 1) RETURN_IF_ERROR(MakeObservedDurable(path));
  return ObjectInfo{std::string(key), static_cast<uint64_t>(st.st_size), EtagOf(st)};
}

Status LocalStore::Delete(std::string_view key) {
  return DeleteMany(std::span<const std::string>(std::vector<std::string>{std::string(key)}));
}

Status LocalStore::DeleteMany(std::span<const std::string> keys) {
  std::vector<std::string> paths;
  paths.reserve(keys.size());
  for (const std::string& key : keys) {
    ASSIGN_OR_RETURN(std::string path, KeyToPath(key));
    paths.push_back(std::move(path));
  }
  RETURN_IF_ERROR(CheckWritable());
  std::vector<std::string> removed;  // paths actually unlinked
  for (size_t i = 0; i < keys.size(); i++) {
    KeyLock lock;
    RETURN_IF_ERROR(LockKey(keys[i], &lock));
    if (::unlinkat(root_fd_.get(), paths[i].c_str(), 0) == 0) {
      removed.push_back(paths[i]);
    } else if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
      return PosixError("unlink", display_root_ + "/" + paths[i], errno);
    }
  }
  if (fsync_) {
    std::vector<std::string> dirs;
    for (const std::string& path : removed) dirs.emplace_back(ParentOf(path));
    // A directory may already be gone (a racing delete emptied and removed it).
    RETURN_IF_ERROR(SyncDirs(std::move(dirs), /*missing_ok=*/true));
  }
  for (const std::string& path : removed) RemoveEmptyParents(path);
  return Status::OK();
}

void LocalStore::RemoveEmptyParents(std::string_view path) {
  // Best effort: rmdir fails on a non-empty directory, which ends the walk. A put that races
  // with this and loses its parent directory recreates it (see Commit).
  for (std::string_view dir = ParentOf(path); !dir.empty(); dir = ParentOf(dir)) {
    std::string d(dir);
    if (::unlinkat(root_fd_.get(), d.c_str(), AT_REMOVEDIR) != 0) break;
  }
}

Status LocalStore::ListDir(const std::string& rel_dir, const std::string& key_prefix, size_t depth,
                           std::string_view prefix, std::string_view start_after, size_t want,
                           std::vector<ObjectInfo>* out, std::vector<std::string>* unsynced) {
  if (depth > kMaxListDepth) return Status::OK();
  UniqueFd fd(::openat(root_fd_.get(), rel_dir.empty() ? "." : rel_dir.c_str(),
                       O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();  // removed meanwhile
    return PosixError("open directory", display_root_ + "/" + rel_dir, errno);
  }
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return PosixError("fdopendir", display_root_ + "/" + rel_dir, errno);
  fd.Release();  // now owned by `dir`
  std::unique_ptr<DIR, int (*)(DIR*)> dir_owner(dir, &::closedir);

  std::vector<ListEntry> entries;
  std::string segment;
  while (true) {
    errno = 0;
    struct dirent* ent = ::readdir(dir);
    if (ent == nullptr) {
      if (errno != 0) return PosixError("readdir", display_root_ + "/" + rel_dir, errno);
      break;
    }
    if (!NameToSegment(ent->d_name, &segment)) continue;
    bool is_dir = ent->d_type == DT_DIR;
    if (ent->d_type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(::dirfd(dir), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
      is_dir = S_ISDIR(st.st_mode);
    } else if (!is_dir && ent->d_type != DT_REG) {
      continue;  // symlinks, sockets...: not objects
    }
    std::string sort_key = key_prefix + segment;
    if (is_dir) {
      sort_key.push_back('/');
      // Every key below starts with sort_key and is longer than it.
      bool prefix_ok = StartsWith(prefix, sort_key) || StartsWith(sort_key, prefix);
      bool after_ok = sort_key > start_after || StartsWith(start_after, sort_key);
      if (!prefix_ok || !after_ok) continue;
    } else if (!StartsWith(sort_key, prefix) || !(sort_key > start_after)) {
      continue;
    }
    entries.push_back(ListEntry{std::move(sort_key), ent->d_name, is_dir});
  }

  // Visit entries in order, sorting only as far as needed: a page usually needs the first
  // `want` entries of a large directory, so select them with nth_element chunk by chunk.
  auto by_key = [](const ListEntry& a, const ListEntry& b) { return a.sort_key < b.sort_key; };
  size_t begin = 0;
  while (begin < entries.size() && out->size() < want) {
    size_t chunk = std::max<size_t>(want - out->size(), 64);
    size_t end = std::min(entries.size(), begin + chunk);
    if (end < entries.size()) {
      std::nth_element(entries.begin() + begin, entries.begin() + end, entries.end(), by_key);
    }
    std::sort(entries.begin() + begin, entries.begin() + end, by_key);
    for (size_t i = begin; i < end && out->size() < want; i++) {
      const ListEntry& e = entries[i];
      std::string child = rel_dir + e.name;
      if (e.is_dir) {
        RETURN_IF_ERROR(
            ListDir(child + "/", e.sort_key, depth + 1, prefix, start_after, want, out, unsynced));
        continue;
      }
      struct stat st;
      if (::fstatat(::dirfd(dir), e.name.c_str(), &st, 0) != 0) {
        if (errno == ENOENT) continue;  // deleted meanwhile
        return PosixError("stat", display_root_ + "/" + child, errno);
      }
      if (!S_ISREG(st.st_mode)) continue;
      if (fsync_ && st.st_nlink > 1 && (unsynced->empty() || unsynced->back() != child)) {
        unsynced->push_back(child);  // MakeObservedDurable syncs its directories
      }
      out->push_back(ObjectInfo{e.sort_key, static_cast<uint64_t>(st.st_size), EtagOf(st)});
    }
    begin = end;
  }
  return Status::OK();
}

Result<ListResult> LocalStore::List(std::string_view prefix, std::string_view start_after,
                                    size_t limit) {
  if (limit == 0) limit = 1000;
  limit = std::min<size_t>(limit, 100'000);
  std::vector<ObjectInfo> found;
  std::vector<std::string> unsynced;  // objects seen before their put synced their directory
  // One more than asked, to learn whether the listing is truncated.
  RETURN_IF_ERROR(ListDir("", "", 0, prefix, start_after, limit + 1, &found, &unsynced));
  // Rare (a put racing the listing), so one object's directories at a time is cheap enough.
  for (const std::string& path : unsynced) RETURN_IF_ERROR(MakeObservedDurable(path));
  ListResult out;
  if (found.size() > limit) {
    found.resize(limit);
    out.truncated = true;
  }
  out.objects = std::move(found);
  return out;
}

void LocalStore::RemoveStaleTempFiles() {
  // A temp file older than kStaleTempSeconds belongs to a put that crashed: puts write their
  // temp file and commit it within seconds.
  int fd = ::openat(tmp_fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return;
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir_owner(dir, &::closedir);
  uint64_t now = static_cast<uint64_t>(::time(nullptr));
  size_t removed = 0;
  while (struct dirent* ent = ::readdir(dir)) {
    if (ent->d_name[0] == '.') continue;
    struct stat st;
    if (::fstatat(fd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    if (static_cast<uint64_t>(st.st_mtim.tv_sec) + kStaleTempSeconds < now &&
        ::unlinkat(fd, ent->d_name, 0) == 0) {
      removed++;
    }
  }
  if (removed > 0) LOG_INFO("{}: removed {} stale temp files", Describe(), removed);
}

Result<UniqueFd> OpenOrCreateDir(int parent_fd, const std::string& name, const std::string& shown) {
  if (::mkdirat(parent_fd, name.c_str(), 0755) != 0 && errno != EEXIST) {
    return PosixError("mkdir", shown, errno);
  }
  UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOTDIR) {
      return Status::IOError("file:// root '" + shown + "' exists and is not a directory");
    }
    return PosixError("open directory", shown, errno);
  }
  return fd;
}

// Versions before the put journal was removed kept .cloudkv/journal/. A clean close left it
// empty; segments in it may hold acknowledged puts whose files never reached the disk, which
// only that version can replay. An empty one is removed.
Status RefuseOldPutJournal(int internal_fd, const std::string& shown) {
  if (::unlinkat(internal_fd, "journal", AT_REMOVEDIR) == 0 || errno == ENOENT) {
    return Status::OK();
  }
  if (errno != ENOTEMPTY && errno != EEXIST) return PosixError("rmdir", shown, errno);
  return Status::InvalidArgument(
      shown +
      " holds put journal segments of an older cloudkv, which may hold acknowledged "
      "writes whose files are not on disk yet. Open this directory once with that "
      "version and close it cleanly (that empties the folder), or remove the folder if "
      "its last process exited cleanly");
}

// Opens the existing directory `name` below `parent_fd`; NotFound (naming `shown`) if missing.
Result<UniqueFd> OpenExistingDir(int parent_fd, const std::string& name, const std::string& shown) {
  UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) return fd;
  if (errno == ENOENT) return Status::NotFound("directory " + shown + " does not exist");
  if (errno == ENOTDIR) {
    return Status::IOError("file:// root '" + shown + "' exists and is not a directory");
  }
  return PosixError("open directory", shown, errno);
}

}  // namespace

Result<std::shared_ptr<ObjectStore>> NewLocalStore(const std::string& root,
                                                   std::map<std::string, std::string>* params,
                                                   std::shared_ptr<LocalStoreHooks> hooks,
                                                   bool create) {
  bool fsync = true;
  if (auto it = params->find("fsync"); it != params->end()) {
    ASSIGN_OR_RETURN(fsync, ParseBoolOption("fsync", it->second));
    params->erase(it);
  }
  uint64_t temp_pool = 32;
  if (auto it = params->find("temp_pool"); it != params->end()) {
    ASSIGN_OR_RETURN(temp_pool, ParseUintOption("temp_pool", it->second));
    if (temp_pool > 4096) {
      return Status::InvalidArgument("file:// option temp_pool=" + it->second +
                                     ": at most 4096 temp files may be made ahead");
    }
    params->erase(it);
  }
  for (const char* removed : {"journal", "journal_checkpoint_ms", "journal_recycle"}) {
    if (params->count(removed) != 0) {
      return Status::InvalidArgument(
          std::string("file:// option '") + removed +
          "' no longer exists: the put journal was removed, and every file:// put now syncs "
          "its file and its directory (docs/object-stores.md)");
    }
  }
  if (root.empty()) return Status::InvalidArgument("file:// needs a directory path");
  // Create the root and its missing ancestors, one component at a time.
  UniqueFd dir(::open(root.front() == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return PosixError("open directory", root, errno);
  size_t start = 0;
  while (start < root.size()) {
    size_t slash = root.find('/', start);
    if (slash == std::string::npos) slash = root.size();
    std::string component = root.substr(start, slash - start);
    start = slash + 1;
    if (component.empty()) continue;
    if (create) {
      ASSIGN_OR_RETURN(dir, OpenOrCreateDir(dir.get(), component, root.substr(0, slash)));
    } else {
      ASSIGN_OR_RETURN(dir, OpenExistingDir(dir.get(), component, root.substr(0, slash)));
    }
  }
  if (!create) {
    // Without .cloudkv/ no cloudkv process ever stored an object here: say so rather than
    // create it (a read-only open must leave no trace).
    auto internal = OpenExistingDir(dir.get(), kInternalDir, root + "/" + kInternalDir);
    if (!internal.ok() && internal.status().IsNotFound()) {
      return Status::NotFound("directory " + root + " holds no cloudkv objects (no " +
                              kInternalDir + "/ in it)");
    }
    RETURN_IF_ERROR(internal.status());
  }
  ASSIGN_OR_RETURN(UniqueFd internal,
                   OpenOrCreateDir(dir.get(), kInternalDir, root + "/" + kInternalDir));
  ASSIGN_OR_RETURN(UniqueFd tmp,
                   OpenOrCreateDir(internal.get(), "tmp", root + "/" + kInternalDir + "/tmp"));
  ASSIGN_OR_RETURN(UniqueFd locks,
                   OpenOrCreateDir(internal.get(), "locks", root + "/" + kInternalDir + "/locks"));
  RETURN_IF_ERROR(RefuseOldPutJournal(internal.get(), root + "/" + kInternalDir + "/journal"));
  auto store =
      std::make_shared<LocalStore>(root, std::move(dir), std::move(tmp), std::move(locks), fsync,
                                   static_cast<size_t>(temp_pool), std::move(hooks));
  store->RemoveStaleTempFiles();
  store->ProbeMtimePrecision();
  return std::shared_ptr<ObjectStore>(std::move(store));
}

}  // namespace cloudkv
