// SPDX-License-Identifier: Apache-2.0
// Reading the past: the base manifest of a point and the replay of the history up to it.
#include "db/time_travel.h"

#include <algorithm>
#include <cassert>
#include <map>

#include "cloudkv/write_batch.h"
#include "db/checkpoint.h"
#include "db/wal_protocol.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

// The oldest point a time read can use: the state of the oldest manifest still retained (its
// SSTs hold nothing committed after last_commit_time), never before the history window.
struct OldestPoint {
  uint64_t version = 0;
  uint64_t time_micros = 0;
  uint64_t sequence = 0;
  bool created = false;  // the oldest retained manifest is the database's first
};

uint64_t ContentTime(const Manifest& m) {
  // Version 1 and manifests whose SSTs hold nothing date from their commit.
  if (m.version() == 1 || m.last_sequence() == 0) return m.commit_time_micros();
  return m.last_commit_time_micros();
}

Result<OldestPoint> FindOldest(ManifestStore* manifests, uint64_t boundary, uint64_t latest) {
  // Versions from the boundary up exist (GC deletes only a prefix below it); one just pruned
  // under us means the next is the oldest.
  for (uint64_t v = std::max<uint64_t>(boundary, 1); v <= latest; v++) {
    auto m = manifests->Load(v);
    if (!m.ok()) {
      if (m.status().IsNotFound()) continue;
      return m.status();
    }
    return OldestPoint{v, ContentTime(*m), m->last_sequence(), v == 1};
  }
  return Status::Busy("no manifest at or above the boundary while looking for the oldest point");
}

// The newest version in [lo, hi] for which `ok` holds, given that it holds for a prefix of the
// range (commit times and sequences grow with the version). 0 if it holds for none.
Result<uint64_t> NewestWhere(ManifestStore* manifests, uint64_t lo, uint64_t hi,
                             const std::function<bool(const Manifest&)>& ok, Manifest* found) {
  uint64_t best = 0;
  while (lo <= hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    auto m = manifests->Load(mid);
    if (!m.ok()) {
      if (m.status().IsNotFound()) {
        return Status::Busy("manifest version " + std::to_string(mid) +
                            " was pruned by GC while looking for a past point; try again");
      }
      return m.status();
    }
    if (ok(*m)) {
      best = mid;
      *found = std::move(m).value();
      lo = mid + 1;
    } else {
      if (mid == 0) break;
      hi = mid - 1;
    }
  }
  return best;
}

// What to keep of the history after the base.
struct Target {
  bool collect = true;  // false: keep nothing, read the whole history (FindHistoryEnd)
  bool by_time = false;
  uint64_t time_micros = 0;     // by_time: commit time <= this
  SequenceNumber sequence = 0;  // !by_time: sequence <= this
};

struct ReplayOutcome {
  SequenceNumber last_included = 0;  // 0: no batch after the base
  uint64_t last_included_time = 0;
  SequenceNumber history_end = 0;  // the history is known without gaps up to here
  bool complete = false;           // a write past the point was seen
  uint64_t end_wal_id = 0;         // the first WAL id not read
};

// Replays the history after `base` into `mem`, keeping what `target` selects. Stops reading once
// the history is known without gaps up to a write past the point (WAL ids are not in sequence
// order when a segment moved over a late upload, so a write past the point alone is not enough).
Result<ReplayOutcome> ReplayHistory(ObjectStore* store, const Manifest& base, const Target& target,
                                    const PastBatchFn& apply) {
  ReplayOutcome out;
  out.history_end = base.last_sequence();
  std::map<SequenceNumber, SequenceNumber> pending;  // first -> last, ahead of history_end
  SequenceNumber first_past = 0;                     // first sequence of a batch past the point
  auto reached = [&] { return first_past != 0 && out.history_end + 1 > first_past; };
  WalReplayOptions ro;
  ro.min_epoch = base.replay_epoch();
  if (target.collect) {
    ro.stop = [&] {
      out.complete = reached();
      return out.complete;
    };
  }
  auto next = ReplayWal(store, base.replay_point(), ro, [&](const WalObject& obj) -> Status {
    for (const auto& b : obj.batches) {
      if (b.count == 0) continue;
      const SequenceNumber last = b.first_sequence + b.count - 1;
      if (last <= base.last_sequence()) continue;  // in the base's SSTs
      if (b.first_sequence == out.history_end + 1) {
        out.history_end = last;
        for (auto it = pending.begin(); it != pending.end() && it->first <= out.history_end + 1;
             it = pending.erase(it)) {
          out.history_end = std::max(out.history_end, it->second);
        }
      } else if (b.first_sequence > out.history_end + 1) {
        pending[b.first_sequence] = last;
      } else {
        // Recovery's rule never yields a sequence twice; this would be a damaged WAL.
        return Status::Corruption("WAL object " + WalObjectKey(obj.id) + " repeats sequence " +
                                  std::to_string(b.first_sequence) + " of the history");
      }
      if (!target.collect) continue;
      const bool include = target.by_time ? b.commit_time_micros <= target.time_micros
                                          : b.first_sequence <= target.sequence;
      if (!include) {
        first_past = first_past == 0 ? b.first_sequence : std::min(first_past, b.first_sequence);
        continue;
      }
      RETURN_IF_ERROR(apply(b).WithContext(WalObjectKey(obj.id)));
      if (last > out.last_included) {
        out.last_included = last;
        out.last_included_time = b.commit_time_micros;
      }
    }
    return Status::OK();
  });
  if (!next.ok()) return next.status();
  out.end_wal_id = *next;
  if (!target.collect) return out;
  if (!target.by_time && out.history_end >= target.sequence) out.complete = true;
  out.complete = out.complete || reached();
  return out;
}

Status BeforeOldest(const ReadPoint& point, const OldestPoint& oldest, uint64_t window_start,
                    uint64_t retention_micros) {
  if (point.kind() == ReadPoint::Kind::kSequence) {
    return Status::InvalidArgument("sequence " + std::to_string(point.sequence()) +
                                   " is no longer available: the oldest available sequence is " +
                                   std::to_string(oldest.sequence));
  }
  const uint64_t oldest_time = std::max(oldest.time_micros, window_start);
  std::string what = point.ToString() + " is ";
  if (oldest.created && point.time_micros() < oldest.time_micros) {
    what += "before the database was created";
  } else {
    what += "outside the history window (history_retention " +
            std::to_string(retention_micros / 1'000'000) + " s)";
  }
  return Status::InvalidArgument(what + ": the oldest available point is " +
                                 ReadPoint::FormatTime(oldest_time) + " (" +
                                 std::to_string(oldest_time) + " µs)");
}

}  // namespace

Result<HistoryEnd> FindHistoryEnd(ObjectStore* store, const Manifest& latest) {
  Target target;
  target.collect = false;
  ASSIGN_OR_RETURN(ReplayOutcome replayed, ReplayHistory(store, latest, target, nullptr));
  return HistoryEnd{replayed.history_end, replayed.end_wal_id};
}

Result<PastState> LoadPastState(ObjectStore* store, ManifestStore* manifests, uint64_t now_micros,
                                const ReadPoint& point, MemTable* mem) {
  assert(mem->empty());
  return LoadPastState(store, manifests, now_micros, point, [mem](const WalBatch& b) -> Status {
    WriteBatch batch;
    RETURN_IF_ERROR(batch.SetData(b.data, b.count));
    return InsertBatchIntoMemTable(batch, b.first_sequence, mem);
  });
}

Result<PastState> LoadPastState(ObjectStore* store, ManifestStore* manifests, uint64_t now_micros,
                                const ReadPoint& point, const PastBatchFn& apply) {
  ASSIGN_OR_RETURN(Manifest latest, manifests->LoadLatest());
  PastState state;
  Target target;
  uint64_t boundary = 0;
  if (point.kind() == ReadPoint::Kind::kCheckpoint) {
    ASSIGN_OR_RETURN(CheckpointView cp,
                     LoadCheckpoint(store, manifests, latest, point.checkpoint(), now_micros));
    state.base = std::move(cp.pinned);
    target.sequence = cp.sequence;
  } else {
    const uint64_t retention = latest.settings().history_retention_micros();
    const uint64_t window_start = now_micros > retention ? now_micros - retention : 0;
    ASSIGN_OR_RETURN(ManifestBoundary b, manifests->ReadBoundary());
    boundary = b.version;
    const uint64_t lo = std::max<uint64_t>(boundary, 1);
    auto too_old = [&]() -> Status {
      ASSIGN_OR_RETURN(OldestPoint oldest, FindOldest(manifests, boundary, latest.version()));
      return BeforeOldest(point, oldest, window_start, retention);
    };
    std::function<bool(const Manifest&)> fits;
    if (point.kind() == ReadPoint::Kind::kTime) {
      const uint64_t t = point.time_micros();
      if (t > now_micros) {
        return Status::InvalidArgument(point.ToString() + " is in the future (now is " +
                                       ReadPoint::FormatTime(now_micros) + ")");
      }
      if (t < window_start) return too_old();
      target.by_time = true;
      target.time_micros = t;
      // The newest manifest committed at or before T whose SSTs hold nothing committed after T
      // (a writer's commit times can run ahead of the manifest's clock).
      fits = [t](const Manifest& m) {
        return m.commit_time_micros() <= t && m.last_commit_time_micros() <= t;
      };
    } else {
      target.sequence = point.sequence();
      fits = [s = point.sequence()](const Manifest& m) { return m.last_sequence() <= s; };
    }
    ASSIGN_OR_RETURN(uint64_t version,
                     NewestWhere(manifests, lo, latest.version(), fits, &state.base));
    if (version == 0) return too_old();
  }

  ASSIGN_OR_RETURN(ReplayOutcome replayed, ReplayHistory(store, state.base, target, apply));
  if (point.kind() != ReadPoint::Kind::kTime && !replayed.complete) {
    if (point.kind() == ReadPoint::Kind::kCheckpoint) {
      return Status::Corruption("the WAL objects of " + point.ToString() + " from " +
                                WalObjectKey(state.base.replay_point()) +
                                " do not reach its sequence " + std::to_string(target.sequence) +
                                " (deleted meanwhile?)");
    }
    return Status::InvalidArgument(point.ToString() + " has not been written yet: the last " +
                                   "sequence is " + std::to_string(replayed.history_end));
  }
  if (point.kind() != ReadPoint::Kind::kCheckpoint) {
    // GC deletes WAL objects only below the replay points of the manifests it retains, and
    // raises the boundary above a manifest before it stops retaining it: a boundary still at or
    // below the base means the replay saw the history without holes.
    ASSIGN_OR_RETURN(ManifestBoundary after, manifests->ReadBoundary());
    if (after.version > state.base.version()) {
      return Status::Busy("GC pruned manifest " + std::to_string(state.base.version()) + " of " +
                          point.ToString() + " while it was being read; try again");
    }
  }
  if (target.by_time) {
    state.sequence = std::max(state.base.last_sequence(), replayed.last_included);
  } else {
    state.sequence = target.sequence;
  }
  state.commit_time_micros = replayed.last_included != 0 ? replayed.last_included_time
                                                         : state.base.last_commit_time_micros();
  state.final = replayed.complete;
  return state;
}

}  // namespace cloudkv

namespace cloudkv {
namespace {

class PastIterator final : public Iterator {
 public:
  PastIterator(std::unique_ptr<Iterator> inner, std::shared_ptr<DB> view)
      : inner_(std::move(inner)), view_(std::move(view)) {}
  ~PastIterator() override { inner_.reset(); }  // before the view it iterates
  bool Valid() const override { return inner_->Valid(); }
  void SeekToFirst() override { inner_->SeekToFirst(); }
  void SeekToLast() override { inner_->SeekToLast(); }
  void Seek(std::string_view t) override { inner_->Seek(t); }
  void SeekForPrev(std::string_view t) override { inner_->SeekForPrev(t); }
  void Next() override { inner_->Next(); }
  void Prev() override { inner_->Prev(); }
  std::string_view key() const override { return inner_->key(); }
  std::string_view value() const override { return inner_->value(); }
  Status status() const override { return inner_->status(); }

 private:
  std::unique_ptr<Iterator> inner_;
  std::shared_ptr<DB> view_;
};

}  // namespace

std::unique_ptr<Iterator> NewPastIterator(std::unique_ptr<Iterator> inner,
                                          std::shared_ptr<DB> view) {
  return std::make_unique<PastIterator>(std::move(inner), std::move(view));
}

}  // namespace cloudkv
