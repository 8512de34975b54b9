// SPDX-License-Identifier: Apache-2.0
// Checkpoints and DB settings as manifest commits (see checkpoint.h).
#include "db/checkpoint.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "cloudkv/read_point.h"
#include "util/logging.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

constexpr std::string_view kCheckpointPrefix = "checkpoint/";

bool Expired(const proto::Checkpoint& cp, uint64_t now_micros) {
  return cp.expire_time_micros() != 0 && cp.expire_time_micros() <= now_micros;
}

CheckpointInfo ToInfo(const proto::Checkpoint& cp) {
  CheckpointInfo info;
  info.name = cp.name();
  info.id = cp.id();
  info.manifest_version = cp.manifest_version();
  info.sequence = cp.sequence();
  info.create_time_micros = cp.create_time_micros();
  info.expire_time_micros = cp.expire_time_micros();
  return info;
}

// Drops expired entries from `m` (they pin nothing any more: GC ignores them).
void DropExpired(Manifest* m, uint64_t now_micros) {
  auto* list = m->mutable_checkpoints();
  for (int i = list->size() - 1; i >= 0; i--) {
    if (Expired(list->Get(i), now_micros)) list->DeleteSubrange(i, 1);
  }
}

std::string LiveNames(const Manifest& m, uint64_t now_micros) {
  std::string names;
  for (const auto& cp : m.checkpoints()) {
    if (Expired(cp, now_micros)) continue;
    names += (names.empty() ? "'" : ", '") + cp.name() + "'";
  }
  return names.empty() ? "none" : names;
}

}  // namespace

Status ValidateCheckpointName(std::string_view name) {
  const bool ok =
      !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
      });
  if (ok) return Status::OK();
  return Status::InvalidArgument("checkpoint name '" + std::string(name.substr(0, 200)) +
                                 "': 1 to 128 characters of A-Z a-z 0-9 . _ - expected");
}

std::string CheckpointCopyKey(std::string_view id) {
  return std::string(kCheckpointPrefix) + std::string(id) + ".manifest";
}

Result<CheckpointInfo> CommitCheckpoint(ObjectStore* store, ManifestStore* manifests,
                                        uint64_t now_micros, const Manifest& base,
                                        std::string_view name,
                                        std::optional<uint64_t> expire_time_micros,
                                        const CheckpointTarget& target) {
  RETURN_IF_ERROR(ValidateCheckpointName(name));
  if (expire_time_micros.has_value() && *expire_time_micros <= now_micros) {
    return Status::InvalidArgument("checkpoint '" + std::string(name) + "' would expire at " +
                                   ReadPoint::FormatTime(*expire_time_micros) +
                                   ", which is not in the future");
  }
  static thread_local Random rnd(RandomSeed());
  char id[17];
  std::snprintf(id, sizeof(id), "%016" PRIx64, rnd.Next64());
  const std::string copy_key = CheckpointCopyKey(id);
  proto::Checkpoint entry;
  ASSIGN_OR_RETURN(
      Manifest committed,
      manifests->Commit(
          base,
          [&](const Manifest& latest, Manifest* next) -> Status {
            DropExpired(next, now_micros);
            for (const auto& cp : next->checkpoints()) {
              if (cp.name() == name) {
                return Status::InvalidArgument("a checkpoint named '" + std::string(name) +
                                               "' exists already (delete it first)");
              }
            }
            if (static_cast<size_t>(next->checkpoints_size()) >= kMaxCheckpoints) {
              return Status::InvalidArgument("the database has " + std::to_string(kMaxCheckpoints) +
                                             " checkpoints, the most it may hold; delete some");
            }
            entry.Clear();
            entry.set_id(id);
            entry.set_name(std::string(name));
            entry.set_manifest_version(next->version());
            entry.set_create_time_micros(now_micros);
            entry.set_expire_time_micros(expire_time_micros.value_or(0));
            entry.set_reason(proto::Checkpoint::USER);
            entry.set_sequence(std::max(target.sequence, latest.last_sequence()));
            next->set_next_wal_id(std::max(latest.next_wal_id(), target.wal_end));
            *next->add_checkpoints() = entry;
            // The copy first: a committed entry always finds it. A failed attempt rewrites it.
            auto put = store->Put(copy_key, EncodeManifest(*next));
            if (!put.ok()) return put.status().WithContext("writing " + copy_key);
            return Status::OK();
          },
          "checkpoint"));
  (void)committed;
  LOG_INFO("checkpoint '{}' ({}) pins manifest {} at sequence {}", entry.name(), entry.id(),
           entry.manifest_version(), entry.sequence());
  return ToInfo(entry);
}

Status CommitDeleteCheckpoint(ObjectStore* store, ManifestStore* manifests, uint64_t now_micros,
                              const Manifest& base, std::string_view name) {
  std::string id;
  auto committed = manifests->Commit(
      base,
      [&](const Manifest& latest, Manifest* next) -> Status {
        DropExpired(next, now_micros);
        auto* list = next->mutable_checkpoints();
        for (int i = 0; i < list->size(); i++) {
          if (list->Get(i).name() == name) {
            id = list->Get(i).id();
            list->DeleteSubrange(i, 1);
            return Status::OK();
          }
        }
        return Status::NotFound("no checkpoint named '" + std::string(name) +
                                "' (checkpoints: " + LiveNames(latest, now_micros) + ")");
      },
      "checkpoint");
  if (!committed.ok()) return committed.status();
  // Nothing references the copy any more (GC reads only the latest manifest's checkpoints).
  Status s = store->Delete(CheckpointCopyKey(id));
  if (!s.ok() && !s.IsNotFound()) {
    LOG_WARN("checkpoint '{}' deleted, but not its copy {}: {}", name, CheckpointCopyKey(id),
             s.ToString());
  }
  return Status::OK();
}

std::vector<CheckpointInfo> LiveCheckpoints(const Manifest& latest, uint64_t now_micros) {
  std::vector<CheckpointInfo> out;
  for (const auto& cp : latest.checkpoints()) {
    if (!Expired(cp, now_micros)) out.push_back(ToInfo(cp));
  }
  std::sort(out.begin(), out.end(), [](const CheckpointInfo& a, const CheckpointInfo& b) {
    return a.manifest_version < b.manifest_version;
  });
  return out;
}

Result<CheckpointView> LoadCheckpoint(ObjectStore* store, ManifestStore* manifests,
                                      const Manifest& latest, std::string_view name,
                                      uint64_t now_micros) {
  const proto::Checkpoint* found = nullptr;
  for (const auto& cp : latest.checkpoints()) {
    if (cp.name() == name) found = &cp;
  }
  if (found == nullptr) {
    return Status::NotFound("no checkpoint named '" + std::string(name) +
                            "' (checkpoints: " + LiveNames(latest, now_micros) + ")");
  }
  if (Expired(*found, now_micros)) {
    return Status::NotFound("checkpoint '" + std::string(name) + "' expired at " +
                            ReadPoint::FormatTime(found->expire_time_micros()));
  }
  const std::string copy_key = CheckpointCopyKey(found->id());
  CheckpointView view;
  auto copy = store->Get(copy_key);
  if (copy.ok()) {
    ASSIGN_OR_RETURN(view.pinned, DecodeManifest(copy_key, copy->data));
  } else if (copy.status().IsNotFound()) {
    auto pinned = manifests->Load(found->manifest_version());
    if (!pinned.ok() && pinned.status().IsNotFound()) {
      return Status::Corruption("checkpoint '" + std::string(name) + "' pins manifest version " +
                                std::to_string(found->manifest_version()) + ", but neither " +
                                copy_key + " nor that version exists");
    }
    ASSIGN_OR_RETURN(view.pinned, std::move(pinned));
  } else {
    return copy.status();
  }
  view.sequence = std::max<SequenceNumber>(found->sequence(), view.pinned.last_sequence());
  return view;
}

DbSettings SettingsOf(const Manifest& m) {
  DbSettings s;
  s.history_retention_micros = m.settings().history_retention_micros();
  s.gc_min_age_micros = m.settings().gc_min_age_micros();
  s.max_clock_skew_micros = m.settings().max_clock_skew_micros();
  return s;
}

Result<Manifest> CommitHistoryRetention(ManifestStore* manifests, const Manifest& base,
                                        uint64_t retention_micros) {
  if (retention_micros > kMaxHistoryRetentionMicros) {
    return Status::InvalidArgument("history_retention of " +
                                   std::to_string(retention_micros / 1'000'000) +
                                   " s exceeds the limit of 10 years");
  }
  return manifests->Commit(
      base,
      [&](const Manifest&, Manifest* next) {
        next->mutable_settings()->set_history_retention_micros(retention_micros);
        return Status::OK();
      },
      "admin");
}

}  // namespace cloudkv
