// SPDX-License-Identifier: Apache-2.0
// The manifest protocol (ManifestStore): finding the latest version, committing, the boundary.
#include "db/manifest.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "util/coding.h"
#include "util/logging.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

constexpr std::string_view kPrefix = kManifestPrefix;
constexpr std::string_view kLatestKey = "manifest/LATEST";
// The hint is rewritten every this many versions (it costs a PUT; probing covers the gap).
constexpr uint64_t kHintInterval = 16;
// LoadLatest restarts from a LIST when GC pruned under its probe; more rounds than this in a
// row means something is badly wrong (e.g. a boundary above every manifest).
constexpr int kMaxFindRounds = 8;

}  // namespace

ManifestStore::ManifestStore(std::shared_ptr<ObjectStore> store, std::shared_ptr<Clock> clock,
                             ManifestStoreOptions options)
    : store_(std::move(store)), clock_(std::move(clock)), options_(options) {}

Result<Manifest> ManifestStore::Load(uint64_t version) {
  std::string key = ManifestObjectKey(version);
  ASSIGN_OR_RETURN(GetResult got, store_->Get(key));
  return DecodeManifest(key, got.data);
}

Result<bool> ManifestStore::Exists(uint64_t version) {
  auto r = store_->Head(ManifestObjectKey(version));
  if (r.ok()) return true;
  if (r.status().IsNotFound()) return false;
  return r.status();
}

Result<bool> ManifestStore::NewerExists(const Manifest& known) {
  ASSIGN_OR_RETURN(bool next, Exists(known.version() + 1));
  if (next || CommittedRecently(known, clock_->NowMicros())) return next;
  // known+1 may be a hole GC made: the boundary never exceeds the latest version.
  ASSIGN_OR_RETURN(ManifestBoundary boundary, ReadBoundary());
  return boundary.version > known.version();
}

Result<uint64_t> ManifestStore::FindStartVersion(uint64_t hint) {
  hint = std::max(hint, latest_seen_.load());
  if (hint > 0) return hint;
  auto latest = store_->Get(kLatestKey);
  if (latest.ok()) {
    uint64_t v = 0;
    std::string_view in = latest->data;
    if (in.size() == 8 && GetFixed64(&in, &v) && v > 0) return v;
    LOG_WARN("ignoring malformed manifest/LATEST hint in {}", store_->Describe());
  } else if (!latest.status().IsNotFound()) {
    return latest.status();
  }
  return ListLargestVersion();
}

Result<uint64_t> ManifestStore::ListLargestVersion() {
  uint64_t best = 0;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(ListResult page, store_->List(kPrefix, after, 1000));
    for (const auto& obj : page.objects) {
      auto v = ParseManifestObjectKey(obj.key);
      if (v.ok()) best = std::max(best, *v);
    }
    if (!page.truncated || page.objects.empty()) break;
    after = page.objects.back().key;
  }
  if (best == 0) return Status::NotFound("no manifest in " + store_->Describe());
  return best;
}

void ManifestStore::UpdateHint(uint64_t version) {
  uint64_t seen = latest_seen_.load();
  while (seen < version && !latest_seen_.compare_exchange_weak(seen, version)) {
  }
}

bool ManifestStore::CommittedRecently(const Manifest& m, uint64_t now_micros) {
  // GC retains every manifest committed within max(history_retention, gc_min_age) plus
  // max_clock_skew of its own clock, which is at most max_clock_skew ahead of ours. So a
  // manifest committed less than gc_min_age - max_clock_skew ago is retained by every GC pass
  // that can have run by now: the boundary is at or below it, and nothing above it is pruned.
  const uint64_t min_age = m.settings().gc_min_age_micros();
  const uint64_t skew = m.settings().max_clock_skew_micros();
  return min_age > skew && m.commit_time_micros() + min_age > now_micros + skew;
}

Result<ManifestBoundary> ManifestStore::ReadBoundary() {
  auto got = store_->Get(kManifestBoundaryKey);
  if (!got.ok()) {
    if (got.status().IsNotFound()) return ManifestBoundary{};
    return got.status();
  }
  ASSIGN_OR_RETURN(uint64_t version, DecodeManifestBoundary(got->data));
  return ManifestBoundary{version, got->etag};
}

Status ManifestStore::RaiseBoundary(uint64_t version) {
  const std::string bytes = EncodeManifestBoundary(version);
  Status last;
  for (int attempt = 0; attempt <= options_.max_commit_conflicts; attempt++) {
    // Re-reading also resolves a put whose response was lost: it shows our value or higher.
    ASSIGN_OR_RETURN(ManifestBoundary current, ReadBoundary());
    if (current.version >= version) return Status::OK();
    PutOptions mode =
        current.etag.empty() ? PutOptions::IfAbsent() : PutOptions::IfMatch(current.etag);
    auto put = store_->Put(kManifestBoundaryKey, bytes, mode);
    if (put.ok()) return Status::OK();
    last = put.status();
    if (last.IsPreconditionFailed()) continue;  // another GC moved it: re-read
    if (!last.retryable()) return last.WithContext("raising manifest/BOUNDARY");
    clock_->SleepForMicros(options_.retry_backoff_micros << std::min(attempt, 6));
  }
  return Status::Busy("raising manifest/BOUNDARY to " + std::to_string(version) + " lost " +
                      std::to_string(options_.max_commit_conflicts) +
                      " races in a row (last: " + last.ToString() + ")");
}

Status ManifestStore::CheckAboveBoundary(const Manifest& base, uint64_t version) {
  if (CommittedRecently(base, clock_->NowMicros())) return Status::OK();
  ASSIGN_OR_RETURN(ManifestBoundary boundary, ReadBoundary());
  if (version > boundary.version) return Status::OK();
  return Status::PreconditionFailed("manifest version " + std::to_string(version) +
                                    " is at or below manifest/BOUNDARY (" +
                                    std::to_string(boundary.version) + "): pruned by GC");
}

Result<Manifest> ManifestStore::LoadLatest(uint64_t hint) {
  ASSIGN_OR_RETURN(uint64_t start, FindStartVersion(hint));
  for (int round = 0; round < kMaxFindRounds; round++) {
    auto current = Load(start);
    if (!current.ok()) {
      if (!current.status().IsNotFound()) return current.status();
      // The start point was pruned or the hint is stale: LIST.
      ASSIGN_OR_RETURN(start, ListLargestVersion());
      continue;
    }
    Manifest m = std::move(current).value();
    Manifest start_manifest = m;
    while (true) {
      auto next = Load(m.version() + 1);
      if (!next.ok()) {
        if (next.status().IsNotFound()) break;
        return next.status();
      }
      m = std::move(next).value();
    }
    // Unless the start point is provably above the boundary, the probe may have stopped at a
    // hole GC made below it (versions are deleted in no particular order) or at a commit that
    // failed there: only a version at or above the boundary, read after the probe, is the latest.
    if (!CommittedRecently(start_manifest, clock_->NowMicros())) {
      ASSIGN_OR_RETURN(ManifestBoundary boundary, ReadBoundary());
      if (m.version() < boundary.version) {
        ASSIGN_OR_RETURN(start, ListLargestVersion());
        continue;
      }
    }
    UpdateHint(m.version());
    return m;
  }
  return Status::Busy("could not find the latest manifest in " + store_->Describe() + " in " +
                      std::to_string(kMaxFindRounds) + " rounds (GC pruning under the probe?)");
}

Status ManifestStore::PutIfAbsent(const Manifest& m) {
  const std::string key = ManifestObjectKey(m.version());
  const std::string bytes = EncodeManifest(m);
  bool ambiguous = false;
  Status last;
  for (int attempt = 0; attempt < options_.max_put_attempts; attempt++) {
    auto put = store_->Put(key, bytes, PutOptions::IfAbsent());
    if (put.ok()) return Status::OK();
    last = put.status();
    if (last.IsPreconditionFailed()) {
      if (!ambiguous) return last;
      break;  // maybe our own earlier attempt landed: read back below
    }
    if (!last.retryable()) return last;
    ambiguous = true;
    clock_->SleepForMicros(options_.retry_backoff_micros << std::min(attempt, 6));
  }
  // The outcome is unknown: whoever owns the version is recorded in its nonce.
  for (int attempt = 0; attempt < options_.max_put_attempts; attempt++) {
    auto existing = Load(m.version());
    if (existing.ok()) {
      if (existing->nonce() == m.nonce()) return Status::OK();
      return Status::PreconditionFailed("manifest version " + std::to_string(m.version()) +
                                        " was committed by another process");
    }
    if (existing.status().IsNotFound()) break;
    if (!existing.status().retryable()) return existing.status();
    clock_->SleepForMicros(options_.retry_backoff_micros << std::min(attempt, 6));
  }
  return last.ok() ? Status::IOError("manifest commit outcome unknown", true)
                   : last.WithContext("manifest commit of version " + std::to_string(m.version()));
}

Result<Manifest> ManifestStore::Commit(const Manifest& base, const ManifestEdit& edit,
                                       std::string_view committer) {
  static thread_local Random rnd(RandomSeed());
  Manifest latest = base;
  for (int conflict = 0; conflict <= options_.max_commit_conflicts; conflict++) {
    Manifest next = latest;
    next.set_version(latest.version() + 1);
    next.set_nonce(rnd.Next64());
    next.set_commit_time_micros(std::max(clock_->NowMicros(), latest.commit_time_micros() + 1));
    next.set_committer(std::string(committer));
    next.set_format_version(kManifestFormatVersion);
    next.set_min_reader_version(kManifestMinReaderVersion);
    RETURN_IF_ERROR(edit(latest, &next));
    // A stale base may sit below the boundary, where version+1 is a slot GC emptied: a
    // create-if-absent there would succeed without being a commit. Check before (so this
    // almost never happens) and after (GC may prune while we put).
    Status s = CheckAboveBoundary(latest, next.version());
    bool below_boundary = s.IsPreconditionFailed();
    if (s.ok()) s = PutIfAbsent(next);
    if (s.ok()) {
      s = CheckAboveBoundary(latest, next.version());
      below_boundary = s.IsPreconditionFailed();
      if (below_boundary) {
        // Ours (it carries our nonce) and not a commit: remove it so no reader probing from
        // below the boundary mistakes it for the latest. GC would delete it too.
        LOG_WARN("{}: {}; retrying from the latest manifest", store_->Describe(), s.ToString());
        auto ignored = store_->Delete(ManifestObjectKey(next.version()));
        (void)ignored;
      }
    }
    if (s.ok()) {
      UpdateHint(next.version());
      if (next.version() % kHintInterval == 0) {
        std::string hint;
        PutFixed64(&hint, next.version());
        auto ignored = store_->Put(kLatestKey, hint);  // best effort
        (void)ignored;
      }
      return next;
    }
    if (!s.IsPreconditionFailed()) return s;
    // Lost a race: the next probe starts at the version that beat us. Below the boundary:
    // start from a LIST, whose largest version is at or above the latest.
    uint64_t start = latest.version() + 1;
    if (below_boundary) {
      ASSIGN_OR_RETURN(start, ListLargestVersion());
    }
    ASSIGN_OR_RETURN(latest, LoadLatest(start));
  }
  return Status::Busy("manifest commit lost " + std::to_string(options_.max_commit_conflicts) +
                      " races in a row");
}

Result<Manifest> ManifestStore::Create(const Manifest& initial) {
  Manifest m = initial;
  m.set_version(1);
  m.set_format_version(kManifestFormatVersion);
  m.set_min_reader_version(kManifestMinReaderVersion);
  if (m.nonce() == 0) m.set_nonce(RandomSeed());
  m.set_commit_time_micros(clock_->NowMicros());
  RETURN_IF_ERROR(PutIfAbsent(m));
  UpdateHint(1);
  std::string hint;
  PutFixed64(&hint, 1);
  auto ignored = store_->Put(kLatestKey, hint);
  (void)ignored;
  return m;
}

}  // namespace cloudkv
