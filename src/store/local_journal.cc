#include "store/local_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "store/posix_file.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/logging.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace cloudkv {

// One segment file, open and flocked by this process.
struct JournalSegment {
  std::string name;
  uint64_t seed = 0;  // of its records' checksums: Checksum64(name)
  UniqueFd fd;
  uint64_t bytes = 0;     // appended so far
  uint64_t first_us = 0;  // when its first record was appended (steady clock)
  int inflight = 0;       // puts appended here whose file is not created yet
  bool extended = false;  // a spare that PrepareSpare has extended to its target
  std::unordered_set<std::string> keys;
};

namespace {

constexpr uint32_t kRecordMagic = 0x4a4b4332;    // "2CKJ" little-endian: seeded checksum
constexpr uint32_t kRecordMagicV1 = 0x4a4b4331;  // "1CKJ": checksum without a seed
constexpr size_t kHeaderBytes = 20;
// A spare segment is extended in steps of this size, to at most segment_bytes plus this (a
// segment is sealed once it reaches segment_bytes; its last record may be up to 1 MiB).
constexpr uint64_t kPreallocUnit = uint64_t{1} << 20;
constexpr uint64_t kPreallocSlack = uint64_t{2} << 20;
// A dead process's empty segment may be one another process has just created and not yet
// locked; it is removed only once this old.
constexpr uint64_t kEmptySegmentGraceSeconds = 60;

uint64_t SteadyMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

uint64_t RecordChecksum(const char* header12, std::string_view key, std::string_view data) {
  uint64_t h = Checksum64(std::string_view(header12, 12));
  h = Checksum64(key, h);
  return Checksum64(data, h);
}

uint64_t SegmentSeed(std::string_view name) { return Checksum64(name); }

// The checksum stored in a record of the current format.
uint64_t SeededChecksum(uint64_t record_checksum, uint64_t seed) {
  char buf[8];
  EncodeFixed64(buf, record_checksum);
  return Checksum64(std::string_view(buf, sizeof(buf)), seed);
}

// Reads a whole file; false with errno set on failure.
bool ReadAll(int fd, std::string* out) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  out->resize(static_cast<size_t>(st.st_size));
  int err = PreadFully(fd, out->data(), out->size(), 0);
  if (err == -1) {  // shrank meanwhile: cannot happen to a dead segment
    errno = EIO;
    return false;
  }
  if (err != 0) {
    errno = err;
    return false;
  }
  return true;
}

}  // namespace

PutJournal::PutJournal(int journal_dir_fd, int fs_fd, std::string shown, Options options)
    : dir_fd_(journal_dir_fd),
      fs_fd_(fs_fd),
      shown_(std::move(shown)),
      options_(options),
      nonce_(RandomSeed()),
      thread_([this] { Run(); }) {}

PutJournal::~PutJournal() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_cv_.Signal();
  thread_.join();
  if (Status s = Checkpoint(); !s.ok()) {
    LOG_WARN("{}: checkpoint at close: {} (the next open replays the journal)", shown_,
             s.ToString());
  }
  std::deque<std::unique_ptr<JournalSegment>> spares;
  {
    MutexLock lock(&mu_);
    spares.swap(spares_);
  }
  if (!spares.empty()) {
    // They hold no valid record: left behind, the next open's replay would delete them.
    for (const auto& spare : spares) ::unlinkat(dir_fd_, spare->name.c_str(), 0);
    if (int err = FsyncFd(dir_fd_); err != 0) {
      LOG_WARN("{}: fsync directory at close: {}", shown_, std::strerror(err));
    }
  }
}

std::string PutJournal::NextNameLocked() {
  return fmt::format("{}.{:x}.{}", ::getpid(), nonce_, next_segment_++);
}

Status PutJournal::CreateSegmentLocked() {
  if (!spares_.empty()) {  // renamed and durable in the directory already
    active_ = std::move(spares_.front());
    spares_.pop_front();
    return Status::OK();
  }
  while (true) {
    auto seg = std::make_unique<JournalSegment>();
    seg->name = NextNameLocked();
    seg->seed = SegmentSeed(seg->name);
    seg->fd =
        UniqueFd(::openat(dir_fd_, seg->name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!seg->fd.valid())
      return PosixError("create journal segment", shown_ + "/" + seg->name, errno);
    if (::flock(seg->fd.get(), LOCK_EX | LOCK_NB) != 0) {
      // Another process opening the store is looking at it (it sees an empty dead segment
      // and leaves it): take the next name.
      if (errno == EWOULDBLOCK) continue;
      return PosixError("flock", shown_ + "/" + seg->name, errno);
    }
    // The segment's name must be durable before any record in it counts.
    if (int err = FsyncFd(dir_fd_); err != 0) {
      ::unlinkat(dir_fd_, seg->name.c_str(), 0);
      return PosixError("fsync directory", shown_, err);
    }
    active_ = std::move(seg);
    segments_created_.fetch_add(1, std::memory_order_relaxed);
    return Status::OK();
  }
}

Result<PutJournal::Ticket> PutJournal::Append(std::string_view key, std::string_view data) {
  char header[kHeaderBytes];
  EncodeFixed32(header, kRecordMagic);
  EncodeFixed32(header + 4, static_cast<uint32_t>(key.size()));
  EncodeFixed32(header + 8, static_cast<uint32_t>(data.size()));
  // Hashed outside the lock; the segment's seed is mixed in once it is known.
  const uint64_t checksum = RecordChecksum(header, key, data);
  std::string record;
  record.reserve(kHeaderBytes + key.size() + data.size());
  record.append(header, kHeaderBytes);
  record.append(key);
  record.append(data);

  MutexLock lock(&mu_);
  RETURN_IF_ERROR(failed_);
  if (active_ == nullptr) {
    if (Status s = CreateSegmentLocked(); !s.ok()) {
      failed_ = s;
      usable_.store(false, std::memory_order_release);
      LOG_ERROR("{}; puts now sync their files instead of the journal", s.ToString());
      return s;
    }
  }
  JournalSegment* seg = active_.get();
  EncodeFixed64(record.data() + 12, SeededChecksum(checksum, seg->seed));
  const char* what = "write";
  int err = PwriteFully(seg->fd.get(), record, seg->bytes);
  if (err == 0) {
    what = "fdatasync";
    err = FdatasyncFd(seg->fd.get());
  }
  if (err != 0) {
    // After a failed write or sync the segment's state is unknown (and the page cache may
    // have dropped the dirty pages): no further record is trusted to it.
    failed_ = PosixError(what, shown_ + "/" + seg->name, err);
    usable_.store(false, std::memory_order_release);
    LOG_ERROR("{}; puts now sync their files instead of the journal", failed_.ToString());
    return failed_;
  }
  if (seg->bytes == 0) {
    seg->first_us = SteadyMicros();
    thread_cv_.Signal();  // the thread times the checkpoint from the first record
  }
  seg->bytes += record.size();
  seg->inflight++;
  seg->keys.emplace(key);
  if (seg->bytes >= options_.segment_bytes) thread_cv_.Signal();
  Ticket ticket;
  ticket.segment_ = seg;
  return ticket;
}

void PutJournal::Finish(Ticket ticket, bool file_created) {
  bool wake;
  {
    MutexLock lock(&mu_);
    ticket.segment_->inflight--;
    // Only a checkpoint waits for this (rarely): waking nobody costs no system call per put.
    wake = checkpoint_waiting_ > 0 && ticket.segment_->inflight == 0;
  }
  if (wake) inflight_cv_.SignalAll();
  if (!file_created) {
    if (Status s = Checkpoint(); !s.ok()) {
      LOG_WARN("{}: checkpoint after a failed put: {}", shown_, s.ToString());
    }
  }
}

bool PutJournal::Pending(std::string_view key) {
  std::string k(key);
  MutexLock lock(&mu_);
  if (active_ != nullptr && active_->keys.count(k) > 0) return true;
  for (const auto& seg : sealed_) {
    if (seg->keys.count(k) > 0) return true;
  }
  return false;
}

Status PutJournal::Checkpoint() {
  MutexLock checkpoint(&checkpoint_mu_);
  size_t sealed;
  std::string spare_name;  // empty: no segment is recycled this time
  {
    MutexLock lock(&mu_);
    if (active_ != nullptr && active_->bytes > 0) sealed_.push_back(std::move(active_));
    if (sealed_.empty()) return Status::OK();
    // A put whose record is in a sealed segment may still be creating its file: the syncfs
    // must come after that.
    auto busy = [this]() REQUIRES(mu_) {
      for (const auto& seg : sealed_) {
        if (seg->inflight > 0) return true;
      }
      return false;
    };
    checkpoint_waiting_++;
    while (busy()) inflight_cv_.Wait();
    checkpoint_waiting_--;
    sealed = sealed_.size();
    // At close the spare would only be deleted again.
    if (options_.recycle_segments && spares_.size() < kMaxSpares && !stop_) {
      spare_name = NextNameLocked();
    }
  }
  // New puts go to a new segment meanwhile; the sealed ones stay visible to Pending until
  // their files are durable.
  if (::syncfs(fs_fd_) != 0) return PosixError("syncfs", shown_, errno);
  std::vector<std::unique_ptr<JournalSegment>> done;
  {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < sealed; i++) {
      done.push_back(std::move(sealed_.front()));
      sealed_.pop_front();
    }
  }
  // The last segment sized the spare: the load that filled it is the likeliest to come next.
  const uint64_t last_bytes = done.back()->bytes;
  std::unique_ptr<JournalSegment> spare;
  for (auto& seg : done) {
    // The spare is the last segment: under a steady load the largest file.
    if (!spare_name.empty() && seg == done.back() &&
        ::renameat2(dir_fd_, seg->name.c_str(), dir_fd_, spare_name.c_str(), RENAME_NOREPLACE) ==
            0) {
      seg->name = spare_name;
      seg->seed = SegmentSeed(spare_name);
      seg->bytes = 0;
      seg->first_us = 0;
      seg->keys.clear();
      seg->extended = false;
      spare = std::move(seg);
      continue;
    }
    ::unlinkat(dir_fd_, seg->name.c_str(), 0);
  }
  // Until the unlinks and the rename are durable a crash would replay the segments: harmless
  // for files that are durable now, but a delete that follows this checkpoint must not be
  // undone. The spare's records count only under its new name, so it may take new ones only
  // after this too.
  if (int err = FsyncFd(dir_fd_); err != 0) {
    if (spare != nullptr) ::unlinkat(dir_fd_, spare->name.c_str(), 0);
    return PosixError("fsync directory", shown_, err);
  }
  if (spare != nullptr) {
    MutexLock lock(&mu_);
    spare_target_bytes_ =
        std::min((last_bytes + last_bytes / 4 + kPreallocUnit - 1) / kPreallocUnit * kPreallocUnit,
                 options_.segment_bytes + kPreallocSlack);
    if (spares_.size() < kMaxSpares) {
      spares_.push_back(std::move(spare));
    } else {  // PrepareSpare put back the one it extended meanwhile; this holds no record
      ::unlinkat(dir_fd_, spare->name.c_str(), 0);
    }
  }
  return Status::OK();
}

void PutJournal::PrepareSpare() {
  // Usually one spare, the newest; two when a Checkpoint() called by a put recycled one too.
  while (PrepareOneSpare()) {
  }
}

bool PutJournal::PrepareOneSpare() {
  std::unique_ptr<JournalSegment> seg;
  uint64_t target;
  {
    MutexLock lock(&mu_);
    if (stop_) return false;
    auto it = std::find_if(spares_.begin(), spares_.end(),
                           [](const auto& spare) { return !spare->extended; });
    if (it == spares_.end()) return false;
    target = spare_target_bytes_;
    // An append meanwhile takes another spare, or creates a segment.
    seg = std::move(*it);
    spares_.erase(it);
  }
  // statx without timestamps, like the store's puts (local_store.cc, WriteTemp): reading them
  // would make the writes below take fine-grained times and move every file's mtime clock on.
  struct statx stx;
  int err = ::statx(seg->fd.get(), "", AT_EMPTY_PATH, STATX_SIZE, &stx) != 0 ? errno : 0;
  const char* what = "statx";
  uint64_t size = err == 0 ? stx.stx_size : 0;
  if (err == 0 && size < target) {
    // Real zeros: fallocate would leave unwritten extents, whose conversion on the first write
    // is again a metadata update for the append's fdatasync.
    static const std::string zeros(kPreallocUnit, '\0');
    what = "write";
    for (; err == 0 && size < target; size += kPreallocUnit) {
      err = PwriteFully(seg->fd.get(), std::string_view(zeros).substr(0, target - size), size);
    }
    if (err == 0) {
      what = "fdatasync";
      err = FdatasyncFd(seg->fd.get());
    }
  }
  if (err != 0) {
    // Only a lost optimization: the next segment is created instead.
    LOG_WARN("{}: preparing spare journal segment {}: {}: {}", shown_, seg->name, what,
             std::strerror(err));
    ::unlinkat(dir_fd_, seg->name.c_str(), 0);
    return true;  // the others may still be extended
  }
  seg->extended = true;
  MutexLock lock(&mu_);
  if (spares_.size() < kMaxSpares && !stop_) {
    spares_.push_front(std::move(seg));  // extended spares are taken first
  } else {
    ::unlinkat(dir_fd_, seg->name.c_str(), 0);
  }
  return true;
}

void PutJournal::Run() {
  MutexLock lock(&mu_);
  while (!stop_) {
    bool due = false;
    std::chrono::microseconds wait = options_.checkpoint_interval;
    if (active_ != nullptr && active_->bytes > 0) {
      const uint64_t age = SteadyMicros() - active_->first_us;
      const uint64_t interval = static_cast<uint64_t>(wait.count());
      due = active_->bytes >= options_.segment_bytes || age >= interval;
      wait = std::chrono::microseconds(due ? 0 : interval - age);
    }
    if (!due) {
      thread_cv_.WaitFor(wait);
      continue;
    }
    mu_.Unlock();
    Status s = Checkpoint();
    if (s.ok()) PrepareSpare();
    mu_.Lock();
    if (!s.ok()) {
      LOG_WARN("{}: journal checkpoint: {}", shown_, s.ToString());
      thread_cv_.WaitFor(options_.checkpoint_interval);  // try again later; puts carry on
    }
  }
}

Status PutJournal::ReplayDead(int journal_dir_fd, int fs_fd, const std::string& shown,
                              const RestoreFn& restore) {
  int fd = ::openat(journal_dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError("open directory", shown, errno);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return PosixError("fdopendir", shown, err);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir_owner(dir, &::closedir);
  std::vector<std::pair<std::string, UniqueFd>> dead;  // held (flocked) until deleted
  while (struct dirent* ent = ::readdir(dir)) {
    if (ent->d_name[0] == '.') continue;
    UniqueFd seg(::openat(fd, ent->d_name, O_RDONLY | O_CLOEXEC));
    if (!seg.valid()) continue;                                // removed meanwhile
    if (::flock(seg.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its process lives
    struct stat st;
    if (::fstat(seg.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_size == 0 && static_cast<uint64_t>(st.st_mtim.tv_sec) + kEmptySegmentGraceSeconds >
                               static_cast<uint64_t>(::time(nullptr))) {
      continue;  // possibly being created by a live process that has not locked it yet
    }
    dead.emplace_back(ent->d_name, std::move(seg));
  }
  if (dead.empty()) return Status::OK();
  size_t records = 0;
  for (auto& [name, seg] : dead) {
    std::string bytes;
    if (!ReadAll(seg.get(), &bytes))
      return PosixError("read journal segment", shown + "/" + name, errno);
    size_t pos = 0;
    while (bytes.size() - pos >= kHeaderBytes) {
      const char* h = bytes.data() + pos;
      const uint32_t magic = DecodeFixed32(h);
      if (magic != kRecordMagic && magic != kRecordMagicV1) break;
      const uint64_t key_len = DecodeFixed32(h + 4);
      const uint64_t data_len = DecodeFixed32(h + 8);
      if (bytes.size() - pos - kHeaderBytes < key_len + data_len) break;  // torn tail
      std::string_view key(h + kHeaderBytes, key_len);
      std::string_view data(h + kHeaderBytes + key_len, data_len);
      uint64_t checksum = RecordChecksum(h, key, data);
      if (magic == kRecordMagic) checksum = SeededChecksum(checksum, SegmentSeed(name));
      if (DecodeFixed64(h + 12) != checksum) break;  // torn, or of the file's previous life
      RETURN_IF_ERROR(
          restore(key, data).WithContext("replaying journal segment " + shown + "/" + name));
      records++;
      pos += kHeaderBytes + key_len + data_len;
    }
  }
  // Files that matched their records may still be only in the page cache (the process died,
  // the machine did not): make them durable before their records go.
  if (::syncfs(fs_fd) != 0) return PosixError("syncfs", shown, errno);
  for (const auto& [name, seg] : dead) ::unlinkat(fd, name.c_str(), 0);
  if (int err = FsyncFd(fd); err != 0) return PosixError("fsync directory", shown, err);
  LOG_INFO("{}: replayed {} journal records from {} segments of ended processes", shown, records,
           dead.size());
  return Status::OK();
}

}  // namespace cloudkv
