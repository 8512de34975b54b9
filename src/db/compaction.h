// SPDX-License-Identifier: Apache-2.0
// Compaction jobs (docs/design.md §9, docs/engine.md "Compaction").
//
// A CompactionJob is stateless: a CompactionSpec names everything it needs (input SSTs, the
// output level, the snapshots to honour, whether nothing older lies below), so the same code can
// run inside the writer or in a separate compactor process. Run() reads the inputs through
// SstReaders, merges them, drops versions no reader can see, uploads the output SSTs and
// returns their metadata. ApplyCompactionEdit() then turns the result into a manifest edit that
// ManifestStore::Commit recomputes against whatever manifest is latest:
//
//   - the writer owns L0 additions and the WAL pointers, compaction owns level contents, so an
//     edit applies cleanly on top of concurrent flushes;
//   - the edit aborts with PreconditionFailed (which ManifestStore::Commit never returns for
//     anything else) if any input is no longer where the job found it, if the L0 inputs are no
//     longer the oldest run of L0, or if the output level gained an SST the outputs overlap.
//
// Outputs of a job that fails or aborts are left in the store as orphans for GC.
//
// Thread-safety: a CompactionJob is used by one thread; Run() uses the thread pool of its env
// for subcompactions. ApplyCompactionEdit is a pure function.
#ifndef CLOUDKV_DB_COMPACTION_H_
#define CLOUDKV_DB_COMPACTION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/disk_cache.h"
#include "cloudkv/clock.h"
#include "cloudkv/compaction_filter.h"
#include "cloudkv/object_store.h"
#include "db/manifest.h"
#include "db/sst_cache.h"
#include "db/version.h"
#include "format/dbformat.h"
#include "format/sst_builder.h"
#include "util/random.h"
#include "util/thread_pool.h"

namespace cloudkv {

// Everything that defines one job. Levels are numbered 0 (L0) .. num_levels-1.
struct CompactionSpec {
  int level = 0;                         // the input level
  std::vector<proto::SstMeta> inputs;    // from `level`; for L0 the oldest contiguous run
  int output_level = 1;                  // level + 1 (or level: a last-level rewrite)
  std::vector<proto::SstMeta> overlaps;  // SSTs of output_level overlapping the inputs
  // Sequence numbers of the live snapshots, ascending. Each entry keeps the newest version of
  // a key that is <= it; the newest version overall is always kept.
  std::vector<SequenceNumber> snapshots;
  // No level below output_level holds data in the inputs' key range: tombstones that no
  // snapshot needs can be dropped.
  bool bottommost = false;
  // The inputs move to output_level unchanged (no overlaps; manifest-only edit).
  bool trivial_move = false;
  uint64_t target_sst_bytes = 64ull << 20;
  int max_subcompactions = 1;
  // MonotonicMicros after which the job gives up (TimedOut); 0 = no deadline.
  uint64_t deadline_micros = 0;

  std::string ToString() const;
};

// What a job runs with. The pointers are borrowed and must outlive Run().
struct CompactionEnv {
  std::shared_ptr<ObjectStore> store;
  std::shared_ptr<Clock> clock;
  SstCache* readers = nullptr;  // opens the inputs' readers (and keeps them)
  SstReadOptions read_options;  // for the outputs' readers
  SstBuilderOptions builder_options;
  uint64_t epoch = 0;  // written into the outputs' properties
  std::shared_ptr<const CompactionFilter> filter;
  ThreadPool* pool = nullptr;  // subcompactions; null = one at a time on the caller's thread
  // Checked now and then; true aborts the job with Busy (the database is closing).
  const std::atomic<bool>* cancel = nullptr;
  // Non-null: keep the outputs' data blocks, up to this many bytes for the whole job, so the
  // caller can prepopulate the block cache once the outputs are live.
  std::shared_ptr<std::atomic<int64_t>> prepopulate_budget;
};

struct CompactionOutput {
  proto::SstMeta meta;
  std::shared_ptr<SstReader> reader;
  std::unique_ptr<RetainedBlocks> retained;  // null unless env.prepopulate_budget is set
};

struct CompactionResult {
  std::vector<CompactionOutput> outputs;  // sorted by key, non-overlapping
  uint64_t bytes_read = 0;                // sizes of the input SSTs
  uint64_t bytes_written = 0;             // sizes of the outputs
  uint64_t entries_read = 0;
  uint64_t entries_written = 0;
  uint64_t entries_filtered = 0;  // values the compaction filter turned into tombstones
};

class CompactionJob {
 public:
  CompactionJob(CompactionSpec spec, CompactionEnv env);

  // Merges and uploads. For a trivial move, returns the inputs as outputs and touches nothing.
  // Errors: the store's (uploads are retried while retryable), Corruption of an input, TimedOut
  // past the deadline, Busy when cancelled.
  Result<CompactionResult> Run();

  const CompactionSpec& spec() const { return spec_; }

 private:
  struct Slice;
  Status RunSlice(Slice* slice);
  // Adds the output's range tombstones (its range ends at `upper`, exclusive) and uploads it,
  // unless it holds nothing at all.
  Status FinishOutput(Slice* slice, SstBuilder* builder, std::unique_ptr<RetainedBlocks> retained,
                      Random* rnd, const std::optional<std::string>& upper);
  // A builder for the next output; with a prepopulate budget, *retained keeps its blocks.
  std::unique_ptr<SstBuilder> NewBuilder(Random* rnd, std::unique_ptr<RetainedBlocks>* retained);
  Status CheckAbort() const;

  const CompactionSpec spec_;
  const CompactionEnv env_;
  uint64_t now_micros_ = 0;
};

// The manifest edit of a finished job (see the file comment). `outputs` are the new SSTs of
// spec.output_level (for a trivial move, the inputs themselves).
Status ApplyCompactionEdit(const CompactionSpec& spec, const std::vector<proto::SstMeta>& outputs,
                           const Manifest& latest, Manifest* next);

// True if `s` is the abort of ApplyCompactionEdit (an input is gone or moved).
inline bool IsCompactionConflict(const Status& s) { return s.IsPreconditionFailed(); }

// A fresh, time-ordered, unique SST object key ("sst/<micros hex>-<random hex>.sst").
std::string NewSstObjectKey(uint64_t now_micros, Random* rnd);

// Manifest metadata of an SST just built.
proto::SstMeta MakeSstMeta(const std::string& object_key, const SstProperties& props,
                           uint64_t size_bytes, uint64_t create_time_micros);

// Uploads an SST with a plain put (its name is unique, so retrying is safe), retrying
// retryable errors a bounded number of times. Stores that split large objects into multipart
// uploads (s3://, see its multipart_threshold option) do so inside Put. Once uploaded, the SST
// goes into `write_through` if set (the disk cache: the DB reads what it writes next).
Status UploadSst(ObjectStore* store, Clock* clock, const std::string& key, std::string_view data,
                 DiskCache* write_through);

// Key-range helpers on user keys of SstMeta (internal keys in the manifest).
bool SstRangesOverlap(const proto::SstMeta& a, const proto::SstMeta& b);
bool SstOverlapsRange(const proto::SstMeta& f, std::string_view smallest_user_key,
                      std::string_view largest_user_key);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_COMPACTION_H_
