// SPDX-License-Identifier: Apache-2.0
// Time travel and checkpoints in the DB (docs/time-travel.md): DB::OpenAt, the settings calls,
// DBImpl's views of the past (RecoverAt, ReadOptions::as_of) and its checkpoint calls. The
// protocol itself is in time_travel.cc and checkpoint.cc.
#include <algorithm>

#include "cloudkv/object_store.h"
#include "db/checkpoint.h"
#include "db/db_impl.h"
#include "db/time_travel.h"
#include "util/logging.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

// Views of the past that ReadOptions::as_of keeps open per DB.
constexpr size_t kMaxPastViews = 4;

// The store of an existing database (never creates a location).
Result<std::shared_ptr<ObjectStore>> OpenExistingStore(std::string_view url,
                                                       const Options& options) {
  if (options.store != nullptr) return options.store;
  auto opened = OpenObjectStore(url, ObjectStoreOptions{});
  if (!opened.ok() && opened.status().IsNotFound()) {
    return Status::NotFound("no database at " + std::string(url) + ": " +
                            opened.status().message());
  }
  return opened;
}

Result<Manifest> LoadLatestOf(std::string_view url, ManifestStore* manifests) {
  auto latest = manifests->LoadLatest();
  if (!latest.ok() && latest.status().IsNotFound()) {
    return Status::NotFound("no database at " + std::string(url));
  }
  return latest;
}

}  // namespace

Result<std::unique_ptr<DB>> DB::OpenAt(std::string_view url, const ReadPoint& point,
                                       const Options& options) {
  Options o = options;
  o.read_only = true;
  o.create_if_missing = false;
  RETURN_IF_ERROR(o.Validate());
  ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, OpenExistingStore(url, o));
  auto db = std::make_unique<DBImpl>(std::string(url), o, std::move(store), point);
  RETURN_IF_ERROR(db->Open());
  return std::unique_ptr<DB>(std::move(db));
}

Result<DbSettings> DB::GetSettings(std::string_view url, const Options& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, OpenExistingStore(url, options));
  ManifestStore manifests(store, options.clock ? options.clock : SystemClock());
  ASSIGN_OR_RETURN(Manifest latest, LoadLatestOf(url, &manifests));
  return SettingsOf(latest);
}

Status DB::SetHistoryRetention(std::string_view url, uint64_t retention_micros,
                               const Options& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, OpenExistingStore(url, options));
  ManifestStore manifests(store, options.clock ? options.clock : SystemClock());
  ASSIGN_OR_RETURN(Manifest latest, LoadLatestOf(url, &manifests));
  ASSIGN_OR_RETURN(Manifest committed,
                   CommitHistoryRetention(&manifests, latest, retention_micros));
  LOG_INFO("{}: history_retention set to {} s (manifest {})", url, retention_micros / 1'000'000,
           committed.version());
  return Status::OK();
}

// The base implementations, for DBs that are not DBImpl.
Result<CheckpointInfo> DB::CreateCheckpoint(std::string_view, std::optional<uint64_t>) {
  return Status::NotSupported("this DB does not support checkpoints");
}
Result<std::vector<CheckpointInfo>> DB::ListCheckpoints() {
  return Status::NotSupported("this DB does not support checkpoints");
}
Status DB::DeleteCheckpoint(std::string_view) {
  return Status::NotSupported("this DB does not support checkpoints");
}

Status DBImpl::RecoverAt(const ReadPoint& point) {
  ASSIGN_OR_RETURN(PastState past, LoadPastState(store_.get(), manifests_.get(),
                                                 clock_->NowMicros(), point, mem_.get()));
  manifest_ = past.base;
  installed_manifest_version_.store(manifest_.version(), std::memory_order_release);
  mem_first_wal_id_ = manifest_.replay_point();
  last_sequence_ = past.sequence;
  last_commit_time_ = past.commit_time_micros;
  past_final_ = past.final;
  ASSIGN_OR_RETURN(version_, sst_cache_->BuildVersion(manifest_));
  visible_sequence_.store(last_sequence_, std::memory_order_release);
  PublishReadStateLocked();
  LOG_INFO("opened {} at {} (manifest {}, sequence {})", url_, point.ToString(),
           manifest_.version(), last_sequence_);
  return Status::OK();
}

Result<std::shared_ptr<DB>> DBImpl::PastView(const ReadOptions& options) {
  assert(options.as_of.has_value());
  if (options.snapshot != nullptr) {
    return Status::InvalidArgument("ReadOptions::as_of and ReadOptions::snapshot are exclusive");
  }
  if (reads_refused_.load(std::memory_order_acquire)) {
    MutexLock lock(&mu_);
    if (closed_) return Status::InvalidArgument("database " + url_ + " is closed");
  }
  const ReadPoint& point = *options.as_of;
  {
    MutexLock lock(&past_mu_);
    for (auto it = past_views_.begin(); it != past_views_.end(); ++it) {
      if (it->first == point) {
        auto entry = std::move(*it);
        past_views_.erase(it);
        past_views_.push_back(std::move(entry));
        return past_views_.back().second;
      }
    }
  }
  // Opened without the lock (it reads the store). The view shares this DB's store (its
  // requests count here too), clock and disk cache, and has a smaller block cache of its own.
  Options o = options_;
  o.store = counting_;
  o.clock = clock_;
  o.read_only = true;
  o.create_if_missing = false;
  o.block_cache_bytes = options_.block_cache_bytes / kMaxPastViews;
  o.disk_cache = disk_cache_;
  o.disk_cache_dir.clear();
  auto view = std::make_shared<DBImpl>(url_, o, counting_, point);
  RETURN_IF_ERROR(view->Open());
  if (view->past_final_) {
    MutexLock lock(&past_mu_);
    past_views_.emplace_back(point, view);
    if (past_views_.size() > kMaxPastViews) past_views_.pop_front();
  }
  return std::shared_ptr<DB>(std::move(view));
}

Result<CheckpointInfo> DBImpl::CreateCheckpoint(std::string_view name,
                                                std::optional<uint64_t> expire_time_micros) {
  if (open_at_.has_value()) {
    return Status::NotSupported("a view of " + url_ + " at " + open_at_->ToString() +
                                " cannot create checkpoints; open the database itself");
  }
  Manifest base;
  CheckpointTarget target;
  {
    MutexLock lock(&mu_);
    if (closed_) return Status::InvalidArgument("database " + url_ + " is closed");
    if (bg_error_.IsFenced()) return bg_error_;
    base = manifest_;
    if (!options_.read_only) {
      // Every acknowledged write is durable, so at or below the durable sequence, and in a WAL
      // id below the writer's next one.
      target.sequence = wal_->durable_sequence();
      target.wal_end = wal_->next_id();
    }
  }
  if (options_.read_only) {
    // What the store holds now, as a read-only open would find it.
    ASSIGN_OR_RETURN(base, manifests_->LoadLatest());
    ASSIGN_OR_RETURN(HistoryEnd end, FindHistoryEnd(store_.get(), base));
    target.sequence = end.sequence;
    target.wal_end = end.wal_end;
  }
  return CommitCheckpoint(store_.get(), manifests_.get(), clock_->NowMicros(), base, name,
                          expire_time_micros, target);
}

Result<std::vector<CheckpointInfo>> DBImpl::ListCheckpoints() {
  {
    MutexLock lock(&mu_);
    if (closed_) return Status::InvalidArgument("database " + url_ + " is closed");
  }
  ASSIGN_OR_RETURN(Manifest latest, manifests_->LoadLatest());
  return LiveCheckpoints(latest, clock_->NowMicros());
}

Status DBImpl::DeleteCheckpoint(std::string_view name) {
  if (open_at_.has_value()) {
    return Status::NotSupported("a view of " + url_ + " at " + open_at_->ToString() +
                                " cannot delete checkpoints; open the database itself");
  }
  Manifest base;
  {
    MutexLock lock(&mu_);
    if (closed_) return Status::InvalidArgument("database " + url_ + " is closed");
    base = manifest_;
  }
  return CommitDeleteCheckpoint(store_.get(), manifests_.get(), clock_->NowMicros(), base, name);
}

}  // namespace cloudkv
