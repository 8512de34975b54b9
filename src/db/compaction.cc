// SPDX-License-Identifier: Apache-2.0
// CompactionJob: the merge loop, output cutting, subcompactions and the manifest edit.
//
// Version dropping ("snapshot stripes", as RocksDB): the live snapshots s0 < s1 < ... split the
// sequence space into stripes; the stripe of a sequence number q is the first i with q <= s_i,
// or the top stripe (no snapshot at or above q), which the newest state reads. Within one user
// key, entries arrive newest first; the first entry met in each stripe is the one every reader
// of that stripe sees, and every later (older) entry of the same stripe is invisible to all
// readers, so it is dropped. A point tombstone in the lowest stripe (every snapshot is at or
// above it) of a bottommost job shadows nothing that remains, so it is dropped too.
#include "db/compaction.h"

#include <algorithm>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <set>

#include "db/level_iterator.h"
#include "db/merging_iterator.h"
#include "db/range_tombstone.h"
#include "util/logging.h"
#include "util/status_macros.h"

namespace cloudkv {

// Compaction reads its inputs front to back in reads of this size (not block by block): on
// s3:// a 64 MiB input costs 64 GETs instead of one per 4 KiB block. Memory: one buffer per
// input iterator (each L0 input, one per level), per subcompaction.
constexpr size_t kCompactionReadaheadBytes = 1 << 20;

std::string NewSstObjectKey(uint64_t now_micros, Random* rnd) {
  // Time-ordered and unique: <microseconds, 13 hex digits>-<random 64 bits>.
  char buf[64];
  std::snprintf(buf, sizeof(buf), "sst/%013" PRIx64 "-%016" PRIx64 ".sst", now_micros,
                rnd->Next64());
  return buf;
}

proto::SstMeta MakeSstMeta(const std::string& object_key, const SstProperties& props,
                           uint64_t size_bytes, uint64_t create_time_micros) {
  proto::SstMeta meta;
  meta.set_object_key(object_key);
  meta.set_smallest_key(props.smallest_key);
  meta.set_largest_key(props.largest_key);
  meta.set_smallest_seq(props.smallest_seq);
  meta.set_largest_seq(props.largest_seq);
  meta.set_size_bytes(size_bytes);
  meta.set_num_entries(props.num_entries);
  meta.set_num_deletions(props.num_deletions + props.num_range_deletions);  // point and range
  meta.set_create_time_micros(create_time_micros);
  return meta;
}

Status UploadSst(ObjectStore* store, Clock* clock, const std::string& key, std::string_view data,
                 DiskCache* write_through) {
  Status put;
  for (int attempt = 0; attempt < 10; attempt++) {
    put = store->Put(key, data).status();
    if (put.ok() || !put.retryable()) break;
    clock->SleepForMicros(20'000u << std::min(attempt, 6));
  }
  // Only after a successful upload: a failed one never enters the cache.
  if (put.ok() && write_through != nullptr)
    write_through->InsertObject(store->Describe(), key, data);
  return put.WithContext("uploading " + key);
}

bool SstOverlapsRange(const proto::SstMeta& f, std::string_view smallest_user_key,
                      std::string_view largest_user_key) {
  return !(ExtractUserKey(f.largest_key()) < smallest_user_key ||
           ExtractUserKey(f.smallest_key()) > largest_user_key);
}

namespace {

// True if an SST's largest key is the end of a range tombstone, (end, max sequence, range
// deletion): the SST holds nothing of that user key itself.
bool EndsAtTombstoneEnd(const proto::SstMeta& f) {
  return ExtractTrailer(f.largest_key()) ==
         PackSequenceAndType(kMaxSequenceNumber, kTypeRangeDeletion);
}

}  // namespace

bool SstRangesOverlap(const proto::SstMeta& a, const proto::SstMeta& b) {
  if (!SstOverlapsRange(a, ExtractUserKey(b.smallest_key()), ExtractUserKey(b.largest_key()))) {
    return false;
  }
  // Touching only at a tombstone's exclusive end is no overlap (adjacent outputs, format-sst.md).
  if (EndsAtTombstoneEnd(a) &&
      ExtractUserKey(a.largest_key()) == ExtractUserKey(b.smallest_key())) {
    return false;
  }
  if (EndsAtTombstoneEnd(b) &&
      ExtractUserKey(b.largest_key()) == ExtractUserKey(a.smallest_key())) {
    return false;
  }
  return true;
}

std::string CompactionSpec::ToString() const {
  uint64_t in = 0, over = 0;
  for (const auto& f : inputs) in += f.size_bytes();
  for (const auto& f : overlaps) over += f.size_bytes();
  return "L" + std::to_string(level) + "->L" + std::to_string(output_level) + " " +
         std::to_string(inputs.size()) + "+" + std::to_string(overlaps.size()) + " SSTs (" +
         std::to_string(in) + "+" + std::to_string(over) + " bytes)" +
         (trivial_move ? " trivial move" : "") + (bottommost ? " bottommost" : "");
}

// One key range [begin, end) of the job, merged by one thread.
struct CompactionJob::Slice {
  std::optional<std::string> begin;  // user key, inclusive; none = from the first key
  std::optional<std::string> end;    // user key, exclusive; none = to the last key
  std::vector<CompactionOutput> outputs;
  // Range tombstones of every input (null if none) and the lower bound (user key) of the
  // output being built: each output carries the tombstones clipped to its own key range.
  RangeTombstoneListPtr tombstones;
  std::optional<std::string> output_lower;
  uint64_t entries_read = 0;
  uint64_t entries_written = 0;
  uint64_t entries_filtered = 0;
  Status status;
};

CompactionJob::CompactionJob(CompactionSpec spec, CompactionEnv env)
    : spec_(std::move(spec)), env_(std::move(env)) {
  // output_level == level only for a rewrite of the last level in place (CompactAll).
  assert(spec_.output_level == spec_.level + 1 ||
         (spec_.output_level == spec_.level && spec_.level > 0 && spec_.overlaps.empty()));
  assert(!spec_.inputs.empty());
  assert(std::is_sorted(spec_.snapshots.begin(), spec_.snapshots.end()));
}

Status CompactionJob::CheckAbort() const {
  if (env_.cancel != nullptr && env_.cancel->load(std::memory_order_relaxed)) {
    return Status::Busy("compaction cancelled: the database is closing");
  }
  if (spec_.deadline_micros != 0 && env_.clock->MonotonicMicros() > spec_.deadline_micros) {
    return Status::TimedOut("compaction " + spec_.ToString() + " passed its deadline");
  }
  return Status::OK();
}

Result<CompactionResult> CompactionJob::Run() {
  CompactionResult result;
  for (const auto& f : spec_.inputs) result.bytes_read += f.size_bytes();
  for (const auto& f : spec_.overlaps) result.bytes_read += f.size_bytes();
  if (spec_.trivial_move) {
    assert(spec_.overlaps.empty());
    for (const auto& f : spec_.inputs) {
      ASSIGN_OR_RETURN(auto reader, env_.readers->GetReader(f));
      result.outputs.push_back(CompactionOutput{f, std::move(reader), nullptr});
    }
    result.bytes_read = 0;  // nothing is read or written
    return result;
  }
  now_micros_ = env_.clock->NowMicros();

  // Subcompaction boundaries: distinct user keys at SST edges, evenly picked, so that slices
  // are key ranges whose outputs cannot overlap.
  std::vector<std::string> edges;
  for (const auto* files : {&spec_.inputs, &spec_.overlaps}) {
    for (const auto& f : *files) {
      edges.emplace_back(ExtractUserKey(f.smallest_key()));
      edges.emplace_back(ExtractUserKey(f.largest_key()));
    }
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  std::vector<Slice> slices(1);
  const size_t want = std::max(1, spec_.max_subcompactions);
  if (want > 1 && edges.size() > 2) {
    const size_t k = std::min(want, edges.size() - 1);
    for (size_t i = 1; i < k; i++) {
      const std::string& split = edges[i * edges.size() / k];
      if (split == edges.front() || (slices.back().begin && *slices.back().begin >= split)) {
        continue;
      }
      slices.back().end = split;
      slices.emplace_back();
      slices.back().begin = split;
    }
  }

  if (env_.pool != nullptr && slices.size() > 1) {
    std::mutex mu;
    std::condition_variable cv;
    size_t pending = slices.size();
    for (Slice& slice : slices) {
      env_.pool->Submit([&, s = &slice] {
        s->status = RunSlice(s);
        std::lock_guard<std::mutex> lock(mu);
        if (--pending == 0) cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  } else {
    for (Slice& slice : slices) {
      slice.status = RunSlice(&slice);
      if (!slice.status.ok()) break;
    }
  }
  for (Slice& slice : slices) {
    RETURN_IF_ERROR(slice.status);
    result.entries_read += slice.entries_read;
    result.entries_written += slice.entries_written;
    result.entries_filtered += slice.entries_filtered;
    for (auto& out : slice.outputs) {
      result.bytes_written += out.meta.size_bytes();
      result.outputs.push_back(std::move(out));
    }
  }
  // Postcondition: outputs sorted and disjoint in user keys.
  for (size_t i = 1; i < result.outputs.size(); i++) {
    assert(ExtractUserKey(result.outputs[i - 1].meta.largest_key()) <=
           ExtractUserKey(result.outputs[i].meta.smallest_key()));
  }
  return result;
}

Status CompactionJob::RunSlice(Slice* slice) {
  std::vector<std::unique_ptr<Iterator>> children;
  auto files_of = [&](const std::vector<proto::SstMeta>& metas)
      -> Result<std::vector<std::shared_ptr<SstFile>>> {
    std::vector<std::shared_ptr<SstFile>> files;
    for (const auto& m : metas) {
      ASSIGN_OR_RETURN(auto reader, env_.readers->GetReader(m));
      files.push_back(std::make_shared<SstFile>(SstFile{m, std::move(reader)}));
    }
    return files;
  };
  ASSIGN_OR_RETURN(auto inputs, files_of(spec_.inputs));
  // Range tombstones are pinned in the readers; they never come through the iterators.
  std::vector<RangeTombstone> all_tombstones;
  auto collect = [&](const std::vector<std::shared_ptr<SstFile>>& files) {
    for (const auto& f : files) {
      const auto& ts = f->reader->range_tombstones();
      all_tombstones.insert(all_tombstones.end(), ts.begin(), ts.end());
    }
  };
  collect(inputs);
  if (spec_.level == 0) {
    // L0 SSTs overlap each other: one iterator each, newest first (the manifest's order).
    for (const auto& f : inputs) {
      children.push_back(f->reader->NewIterator(false, kCompactionReadaheadBytes));
    }
  } else {
    children.push_back(NewLevelIterator(std::move(inputs), false, kCompactionReadaheadBytes));
  }
  if (!spec_.overlaps.empty()) {
    ASSIGN_OR_RETURN(auto overlaps, files_of(spec_.overlaps));
    collect(overlaps);
    children.push_back(NewLevelIterator(std::move(overlaps), false, kCompactionReadaheadBytes));
  }
  if (!all_tombstones.empty()) {
    slice->tombstones = std::make_shared<const FragmentedRangeTombstoneList>(all_tombstones);
  }
  slice->output_lower = slice->begin;
  auto it = NewMergingIterator(std::move(children));
  if (slice->begin) {
    it->Seek(MakeInternalKey(*slice->begin, kMaxSequenceNumber, kValueTypeForSeek));
  } else {
    it->SeekToFirst();
  }

  Random rnd(RandomSeed());
  std::unique_ptr<SstBuilder> builder;
  std::unique_ptr<RetainedBlocks> retained;
  const std::vector<SequenceNumber>& snapshots = spec_.snapshots;
  const size_t top_stripe = snapshots.size();
  std::string current_user_key;  // reused: no allocation per entry once it has grown
  bool has_current = false;
  size_t last_stripe = 0;
  bool has_stripe = false;
  std::string rewritten_key;  // for entries whose type changes (filter)
  uint64_t n = 0;
  for (; it->Valid(); it->Next()) {
    if ((++n & 1023) == 0) RETURN_IF_ERROR(CheckAbort());
    ParsedInternalKey ikey;
    if (!ParseInternalKey(it->key(), &ikey)) {
      return Status::Corruption("compaction " + spec_.ToString() + ": malformed internal key");
    }
    if (slice->end && ikey.user_key >= *slice->end) break;
    slice->entries_read++;
    std::string_view value = it->value();

    if (ikey.type == kTypeRangeDeletion) {
      // SST data blocks hold point entries only (range tombstones are in the readers).
      return Status::Corruption("compaction " + spec_.ToString() +
                                ": range tombstone among point entries");
    }

    if (!has_current || ikey.user_key != current_user_key) {
      // A new user key: the only place an output may be cut, so that no key spans two SSTs.
      if (builder != nullptr && builder->EstimatedSize() >= spec_.target_sst_bytes) {
        RETURN_IF_ERROR(FinishOutput(slice, builder.get(), std::move(retained), &rnd,
                                     std::string(ikey.user_key)));
        builder.reset();
        slice->output_lower = std::string(ikey.user_key);
      }
      current_user_key.assign(ikey.user_key);
      has_current = true;
      has_stripe = false;
    }
    const size_t stripe = static_cast<size_t>(
        std::lower_bound(snapshots.begin(), snapshots.end(), ikey.sequence) - snapshots.begin());
    if (has_stripe && stripe == last_stripe) continue;  // a newer entry of this stripe hides it
    has_stripe = true;
    last_stripe = stripe;

    // Covered by a newer range tombstone of its stripe: no reader can see it.
    if (slice->tombstones != nullptr &&
        slice->tombstones->CoveredInSameStripe(ikey.user_key, ikey.sequence, snapshots)) {
      continue;
    }

    ValueType type = ikey.type;
    if (type == kTypeValue && stripe == top_stripe && env_.filter != nullptr &&
        env_.filter->Filter(ikey.user_key, value, now_micros_) ==
            CompactionFilter::Decision::kRemove) {
      // Never simply dropped: a tombstone keeps older versions below from coming back.
      type = kTypeDeletion;
      value = {};
      slice->entries_filtered++;
    }
    if (type == kTypeDeletion && spec_.bottommost && stripe == 0) {
      continue;  // nothing older remains below, and every snapshot sees this deletion
    }
    if (builder == nullptr) builder = NewBuilder(&rnd, &retained);
    if (type != ikey.type) {
      rewritten_key.clear();
      AppendInternalKey(&rewritten_key, ikey.user_key, ikey.sequence, type);
      builder->Add(rewritten_key, value);
    } else {
      builder->Add(it->key(), value);
    }
    slice->entries_written++;
  }
  RETURN_IF_ERROR(it->status());
  RETURN_IF_ERROR(CheckAbort());
  // The last output also takes the tombstones up to the slice's end (an output may hold
  // tombstones only).
  if (builder == nullptr && slice->tombstones != nullptr) builder = NewBuilder(&rnd, &retained);
  if (builder != nullptr) {
    RETURN_IF_ERROR(FinishOutput(slice, builder.get(), std::move(retained), &rnd, slice->end));
  }
  return Status::OK();
}

std::unique_ptr<SstBuilder> CompactionJob::NewBuilder(Random* rnd,
                                                      std::unique_ptr<RetainedBlocks>* retained) {
  auto builder =
      std::make_unique<SstBuilder>(env_.builder_options, env_.epoch, rnd->Next64(), now_micros_);
  retained->reset();
  if (env_.prepopulate_budget != nullptr) {
    *retained = std::make_unique<RetainedBlocks>(env_.prepopulate_budget);
    builder->SetDataBlockSink([r = retained->get()](uint64_t offset, std::string_view contents) {
      r->Add(offset, contents);
    });
  }
  return builder;
}

Status CompactionJob::FinishOutput(Slice* slice, SstBuilder* builder,
                                   std::unique_ptr<RetainedBlocks> retained, Random* rnd,
                                   const std::optional<std::string>& upper) {
  // The tombstones of [output_lower, upper), newest per snapshot stripe (none of the oldest
  // stripe at the bottom). Adjacent outputs may share one user key: the exclusive end of the
  // left one's tombstones (Version::Get consults both).
  if (slice->tombstones != nullptr) {
    for (const RangeTombstone& t : slice->tombstones->TombstonesForOutput(
             spec_.snapshots, spec_.bottommost, slice->output_lower, upper)) {
      builder->AddRangeTombstone(t.begin, t.end, t.seq);
    }
  }
  if (builder->NumEntries() == 0 && builder->NumRangeTombstones() == 0) return Status::OK();
  SstProperties props;
  ASSIGN_OR_RETURN(std::string bytes, builder->Finish(&props));
  RETURN_IF_ERROR(CheckAbort());
  const std::string key = NewSstObjectKey(now_micros_, rnd);
  RETURN_IF_ERROR(UploadSst(env_.store.get(), env_.clock.get(), key, bytes,
                            env_.read_options.disk_cache.get()));
  ASSIGN_OR_RETURN(auto reader, SstReader::Open(env_.store, key, bytes.size(), env_.read_options));
  slice->outputs.push_back(CompactionOutput{MakeSstMeta(key, props, bytes.size(), now_micros_),
                                            std::move(reader), std::move(retained)});
  return Status::OK();
}

namespace {

Status Conflict(const CompactionSpec& spec, const std::string& what) {
  return Status::PreconditionFailed("compaction " + spec.ToString() + " aborted: " + what);
}

// Removes the SST named `key` from `files`; false if it is not there.
bool RemoveSst(google::protobuf::RepeatedPtrField<proto::SstMeta>* files, const std::string& key) {
  for (int i = 0; i < files->size(); i++) {
    if (files->Get(i).object_key() == key) {
      files->DeleteSubrange(i, 1);
      return true;
    }
  }
  return false;
}

}  // namespace

Status ApplyCompactionEdit(const CompactionSpec& spec, const std::vector<proto::SstMeta>& outputs,
                           const Manifest& latest, Manifest* next) {
  // `next` starts as a copy of `latest`; the edit reads and changes `next` only.
  assert(next->l0_size() == latest.l0_size());
  (void)latest;
  if (spec.level == 0) {
    // The inputs must still be exactly the oldest run of L0 (L0 is newest first); a flush may
    // have added newer SSTs in front of them.
    const int n = next->l0_size();
    const int k = static_cast<int>(spec.inputs.size());
    std::set<std::string> keys;
    for (const auto& f : spec.inputs) keys.insert(f.object_key());
    if (k > n) return Conflict(spec, "L0 holds fewer SSTs than the job's inputs");
    for (int i = n - k; i < n; i++) {
      if (!keys.count(next->l0(i).object_key())) {
        return Conflict(spec, "the L0 inputs are no longer the oldest run of L0 (" +
                                  next->l0(i).object_key() + " is among them)");
      }
    }
    next->mutable_l0()->DeleteSubrange(n - k, k);
  } else {
    if (next->levels_size() < spec.level) return Conflict(spec, "the input level is gone");
    auto* files = next->mutable_levels(spec.level - 1)->mutable_ssts();
    for (const auto& f : spec.inputs) {
      if (!RemoveSst(files, f.object_key())) {
        return Conflict(
            spec, "input " + f.object_key() + " is no longer in L" + std::to_string(spec.level));
      }
    }
  }
  while (next->levels_size() < spec.output_level) next->add_levels();
  auto* out = next->mutable_levels(spec.output_level - 1)->mutable_ssts();
  for (const auto& f : spec.overlaps) {
    if (!RemoveSst(out, f.object_key())) {
      return Conflict(spec, "input " + f.object_key() + " is no longer in L" +
                                std::to_string(spec.output_level));
    }
  }
  for (const auto& o : outputs) {
    for (const auto& f : *out) {
      if (SstRangesOverlap(o, f)) {
        return Conflict(spec, "output overlaps " + f.object_key() + ", new in L" +
                                  std::to_string(spec.output_level));
      }
    }
  }
  for (const auto& o : outputs) *out->Add() = o;
  std::sort(out->begin(), out->end(), [](const proto::SstMeta& a, const proto::SstMeta& b) {
    return CompareInternalKeys(a.smallest_key(), b.smallest_key()) < 0;
  });
  return Status::OK();
}

}  // namespace cloudkv
