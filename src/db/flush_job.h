// SPDX-License-Identifier: Apache-2.0
// FlushJob: writes one immutable memtable as an L0 SST (LevelDB's BuildTable, RocksDB's
// FlushJob): builds the SST from the memtable's entries and range tombstones, uploads it under a
// new name (compaction.h: NewSstObjectKey, UploadSst) and opens its reader. Committing it is the
// caller's (DBImpl::FlushOne), as a CompactionJob's outputs are committed by DBImpl.
//
// Thread-safety: one job per call; the memtable is immutable and may be read concurrently.
#ifndef CLOUDKV_DB_FLUSH_JOB_H_
#define CLOUDKV_DB_FLUSH_JOB_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "cloudkv/clock.h"
#include "cloudkv/object_store.h"
#include "db/memtable.h"
#include "format/manifest_format.h"
#include "format/sst_builder.h"
#include "format/sst_reader.h"

namespace cloudkv {

struct FlushJobOptions {
  SstBuilderOptions builder;
  uint64_t epoch = 0;  // the writer's, recorded in the SST
  std::shared_ptr<ObjectStore> store;
  std::shared_ptr<Clock> clock;
  SstReadOptions read_options;  // for the new SST's reader
  // Budget for keeping the SST's blocks to prepopulate the block cache; null: keep none.
  std::shared_ptr<std::atomic<int64_t>> prepopulate_budget;
};

struct FlushJobOutput {
  // False when the memtable held nothing to store (only empty ranges): the flush then moves
  // the WAL pointers without adding an SST.
  bool has_sst = false;
  proto::SstMeta meta;                       // the SST as the manifest records it
  std::shared_ptr<SstReader> reader;         // opened on the uploaded object
  std::unique_ptr<RetainedBlocks> retained;  // its blocks, for the cache once it is live
  uint64_t bytes = 0;                        // the SST's size
  uint64_t created_micros = 0;               // the time in its name and properties
};

// Builds, uploads and opens the SST of `mem`. Errors: the store's (IOError after the upload's
// retries), Corruption if the memtable's iterators fail.
Result<FlushJobOutput> RunFlushJob(const MemTable& mem, const FlushJobOptions& options);

}  // namespace cloudkv

#endif  // CLOUDKV_DB_FLUSH_JOB_H_
