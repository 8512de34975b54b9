// The put journal of the file:// store (docs/object-stores.md, "The put journal").
//
// Making a new file durable takes two cache flushes of the disk: an fsync of the file before
// its name is linked in (so the name never points to a torn file), and one of the directory
// after. A small if-absent put instead appends (key, bytes) to this process's journal and
// syncs that, one flush; then it creates the file without syncing it. A checkpoint, in the
// background at most `checkpoint_interval` after a put, makes those files durable with one
// syncfs(2) and deletes (or recycles, below) the journal segments they came from. When a store
// opens, it replays the segments of processes that have died: every file whose bytes differ from
// its record, or that is missing, is written again durably.
//
// On disk: .cloudkv/journal/<pid>.<nonce>.<n>, each held with flock(LOCK_EX) by its process
// while it lives, so another process knows which segments are dead. A segment is a sequence of
// records:
//   record := fixed32(kRecordMagic) fixed32(key length) fixed32(data length)
//             fixed64(checksum) key data
//   checksum := Checksum64(fixed64(Checksum64 of the 12 bytes before, then key, then data),
//                          seed = Checksum64(segment's file name))
// Reading stops at the first record that is incomplete or fails its checksum: the tail of a
// put that was never acknowledged, zeros, or a record of the file's previous life.
//
// Segments are recycled (cf. RocksDB's recycle_log_file_num, PostgreSQL's WAL segments): a
// checkpoint renames one segment it retires to a new name instead of deleting it, and the
// checkpoint thread extends it with zeros to the size the last segment needed. Up to two such
// spares are kept: the segment that follows a seal is created while the checkpoint's syncfs
// runs, before the sealed one can be retired, so under a steady load one spare would be taken
// by every other segment only and the rest would be new, growing files. Records then
// overwrite allocated blocks, so the append's fdatasync writes data only; an append that grows
// the file must also write its inode (on ext4 without a journal, a second synchronous write:
// 230-310 us per 3 KB append and fdatasync against 140-180 us in place, on the development
// VM). The seed makes the old records of a renamed file invalid. Records of the first format
// (magic "1CKJ", checksum without the seed), from segments that are never recycled, are still
// replayed.
//
// Thread-safety: thread-safe.
#ifndef CLOUDKV_STORE_LOCAL_JOURNAL_H_
#define CLOUDKV_STORE_LOCAL_JOURNAL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>

#include "cloudkv/status.h"
#include "util/mutex.h"

namespace cloudkv {

struct JournalSegment;

class PutJournal {
 public:
  struct Options {
    // A put's file is durable through syncfs at most this long after the put.
    std::chrono::milliseconds checkpoint_interval{1000};
    // A segment this large is checkpointed without waiting for the interval.
    uint64_t segment_bytes = uint64_t{16} << 20;
    // Reuse a retired segment's file (renamed, extended with zeros) for a later segment.
    bool recycle_segments = true;
  };

  // `journal_dir_fd` is .cloudkv/journal; `fs_fd` any descriptor on the store's file system
  // (for syncfs). `shown` names the journal directory in errors.
  PutJournal(int journal_dir_fd, int fs_fd, std::string shown, Options options);
  PutJournal(const PutJournal&) = delete;
  PutJournal& operator=(const PutJournal&) = delete;
  // Checkpoints what is pending (a clean close leaves nothing to replay) and stops the thread.
  ~PutJournal();

  // A put between its journal record and the creation of its file.
  class Ticket {
   public:
    Ticket() = default;

   private:
    friend class PutJournal;
    JournalSegment* segment_ = nullptr;
  };

  // Appends the record and makes it durable. On OK the caller creates the file (without
  // syncing it) and then calls Finish.
  Result<Ticket> Append(std::string_view key, std::string_view data);
  // Ends a put begun by Append. When its file could not be created, the record must never be
  // replayed: Finish checkpoints at once (which deletes the segment holding it).
  void Finish(Ticket ticket, bool file_created);

  // Segment files created new (not recycled) so far.
  uint64_t segments_created() const { return segments_created_.load(std::memory_order_relaxed); }

  // False once an append or a sync has failed: the store then syncs its puts' files instead.
  bool usable() const { return usable_.load(std::memory_order_acquire); }

  // True when `key` has a record not yet checkpointed. A delete or an overwrite of such a key
  // calls Checkpoint first, so that a replay cannot bring back the bytes it replaced.
  bool Pending(std::string_view key);

  // Makes every file whose put has finished durable (syncfs) and deletes the segments.
  Status Checkpoint();

  // Replays the segments in `journal_dir_fd` that no live process holds: calls
  // restore(key, data) for each record in order (it rewrites the file when its bytes differ),
  // syncs the file system, then deletes the segments. A segment that cannot be replayed is
  // kept, and the error returned.
  using RestoreFn = std::function<Status(std::string_view key, std::string_view data)>;
  static Status ReplayDead(int journal_dir_fd, int fs_fd, const std::string& shown,
                           const RestoreFn& restore);

 private:
  void Run();  // the checkpoint thread
  Status CreateSegmentLocked() REQUIRES(mu_);
  std::string NextNameLocked() REQUIRES(mu_);
  // Extends every spare not yet extended with zeros (and syncs it) up to spare_target_bytes_.
  void PrepareSpare();
  // Extends one; false when none was left to extend.
  bool PrepareOneSpare();

  const int dir_fd_;  // the caller's, like fs_fd_
  const int fs_fd_;
  const std::string shown_;
  const Options options_;
  const uint64_t nonce_;

  Mutex checkpoint_mu_;  // one checkpoint at a time; taken before mu_
  Mutex mu_;
  CondVar thread_cv_{&mu_};    // wakes the checkpoint thread: a first record, a full segment, stop_
  CondVar inflight_cv_{&mu_};  // wakes a checkpoint waiting for puts in its sealed segments
  int checkpoint_waiting_ GUARDED_BY(mu_) = 0;  // such checkpoints (0 or 1)
  std::unique_ptr<JournalSegment> active_ GUARDED_BY(mu_);
  std::deque<std::unique_ptr<JournalSegment>> sealed_ GUARDED_BY(mu_);  // awaiting their checkpoint
  // Retired segments' files under new names, durable in the directory, holding no valid
  // record: the next segments, extended ones first. At most kMaxSpares. A spare is taken out
  // of here while PrepareSpare extends it.
  static constexpr size_t kMaxSpares = 2;
  std::deque<std::unique_ptr<JournalSegment>> spares_ GUARDED_BY(mu_);
  uint64_t spare_target_bytes_ GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> segments_created_{0};
  uint64_t next_segment_ GUARDED_BY(mu_) = 1;
  Status failed_ GUARDED_BY(mu_);   // after a failed append or sync: the journal is unusable
  std::atomic<bool> usable_{true};  // failed_.ok(), read without the lock
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_LOCAL_JOURNAL_H_
