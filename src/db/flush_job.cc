// SPDX-License-Identifier: Apache-2.0
#include "db/flush_job.h"

#include "db/compaction.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace cloudkv {

Result<FlushJobOutput> RunFlushJob(const MemTable& mem, const FlushJobOptions& options) {
  static thread_local Random rnd(RandomSeed());
  FlushJobOutput out;
  out.created_micros = options.clock->NowMicros();
  SstBuilder builder(options.builder, options.epoch, rnd.Next64(), out.created_micros);
  if (options.prepopulate_budget != nullptr) {
    out.retained = std::make_unique<RetainedBlocks>(options.prepopulate_budget);
    builder.SetDataBlockSink([r = out.retained.get()](uint64_t offset, std::string_view contents) {
      r->Add(offset, contents);
    });
  }
  auto it = mem.NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) builder.Add(it->key(), it->value());
  RETURN_IF_ERROR(it->status());
  // Range tombstones as written (unfragmented); empty ranges cover nothing and are dropped.
  auto range_it = mem.NewRangeTombstoneIterator();
  for (range_it->SeekToFirst(); range_it->Valid(); range_it->Next()) {
    std::string_view begin = ExtractUserKey(range_it->key());
    if (begin < range_it->value()) {
      builder.AddRangeTombstone(begin, range_it->value(), ExtractTrailer(range_it->key()) >> 8);
    }
  }
  RETURN_IF_ERROR(range_it->status());
  SstProperties props;
  ASSIGN_OR_RETURN(std::string bytes, builder.Finish(&props));
  out.bytes = bytes.size();
  out.has_sst = props.num_entries > 0 || props.num_range_deletions > 0;
  if (!out.has_sst) {
    out.retained.reset();
    return out;
  }
  const std::string key = NewSstObjectKey(out.created_micros, &rnd);
  RETURN_IF_ERROR(UploadSst(options.store.get(), options.clock.get(), key, bytes,
                            options.read_options.disk_cache.get()));
  ASSIGN_OR_RETURN(out.reader,
                   SstReader::Open(options.store, key, bytes.size(), options.read_options));
  out.meta = MakeSstMeta(key, props, bytes.size(), out.created_micros);
  return out;
}

}  // namespace cloudkv
