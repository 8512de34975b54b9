// SPDX-License-Identifier: Apache-2.0
// tools::Verify (cloudkv/tools.h; `cloudkv verify URL`): checks that every object the database
// needs exists and is intact.
//
// What it reads (and never writes):
//   - the latest manifest (and, with --all-manifests, every manifest version listed);
//   - every SST the latest manifest references, whole: its size against the manifest, header,
//     footer and metadata checksums (through SstReader::Open), then every data block's
//     checksum, decoding, key order, the index keys bounding each block, and the entry count,
//     key and sequence ranges against the properties and the manifest;
//   - the WAL objects from replay_point on: ids in [replay_point, next_wal_id) must exist up to
//     a hole at the end (uploads a crashed writer never finished), and every one present must
//     decode (all checksums);
//   - each checkpoint's manifest copy under checkpoint/ (those the latest manifest lists must
//     exist), and the SSTs and WAL range each copy references.
// Each problem is reported once with the object key; an SST shared by several manifests is read
// once. SSTs a clone borrows (db_url set) are checked in their parent's store.
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "cloudkv/tools.h"
#include "db/manifest.h"
#include "format/dbformat.h"
#include "format/sst_reader.h"
#include "format/sst_verify.h"
#include "format/wal_format.h"
#include "tools/tools_internal.h"

namespace cloudkv::tools {
namespace {

constexpr std::string_view kCheckpointPrefix = "checkpoint/";
constexpr std::string_view kManifestSuffix = ".manifest";

struct Problem {
  std::string object_key;
  std::string what;
};

struct Counts {
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

class Verifier {
 public:
  Verifier(std::string url, std::shared_ptr<ObjectStore> store)
      : url_(std::move(url)), store_(std::move(store)) {}

  // Runs every check; false if the database could not be examined at all (no manifest).
  bool Run(bool all_manifests);
  void PrintSummary(std::ostream& out) const;
  void PrintJson(std::ostream& out) const;
  const std::vector<Problem>& problems() const { return problems_; }
  const std::vector<Problem>& warnings() const { return warnings_; }

 private:
  void Report(std::string_view object_key, std::string what);
  Counts& Count(std::string_view kind, uint64_t bytes);
  // Lists every object under `prefix` (from start_after on), page by page.
  Result<std::vector<ObjectInfo>> ListAll(std::string_view prefix, std::string_view start_after);

  void VerifyAllManifests();
  void VerifyReferences(const Manifest& m, std::string_view source);
  void VerifySst(const proto::SstMeta& meta, std::string_view source);
  void VerifyWal(uint64_t replay_point, uint64_t next_wal_id, std::string_view source);
  void VerifyCheckpoints(const Manifest& latest);
  ObjectStore* StoreFor(const proto::SstMeta& meta);
  // replay_point of the latest manifest, re-read once (0 if unreadable): WAL objects below it
  // may be deleted by GC while we look.
  uint64_t CurrentReplayPoint();

  const std::string url_;
  const std::shared_ptr<ObjectStore> store_;
  std::map<std::string, std::shared_ptr<ObjectStore>> parent_stores_;
  std::set<std::string> checked_;  // "<db_url>\t<key>" of objects already examined
  std::vector<Problem> problems_;
  std::map<std::string, Counts, std::less<>> counts_;  // by kind
  uint64_t latest_version_ = 0;
  uint64_t writer_epoch_ = 0;  // of the latest manifest
  struct WalSeen {
    uint64_t epoch = 0;  // 0: the object does not decode
    bool fence = false;
  };
  std::map<uint64_t, WalSeen> wal_seen_;  // WAL objects read, by id
  std::vector<uint64_t> wal_holes_;       // first missing id of each legitimate hole at the end
  std::vector<Problem> warnings_;         // suspicious but possibly legitimate
  std::optional<uint64_t> current_replay_point_;
};

void Verifier::Report(std::string_view object_key, std::string what) {
  problems_.push_back(Problem{std::string(object_key), std::move(what)});
}

Counts& Verifier::Count(std::string_view kind, uint64_t bytes) {
  auto it = counts_.find(kind);
  if (it == counts_.end()) it = counts_.emplace(std::string(kind), Counts{}).first;
  it->second.objects++;
  it->second.bytes += bytes;
  return it->second;
}

Result<std::vector<ObjectInfo>> Verifier::ListAll(std::string_view prefix,
                                                  std::string_view start_after) {
  std::vector<ObjectInfo> all;
  std::string after(start_after);
  while (true) {
    auto page = store_->List(prefix, after);
    if (!page.ok()) return page.status();
    for (auto& info : page->objects) all.push_back(std::move(info));
    if (!page->truncated || page->objects.empty()) break;
    after = all.back().key;
  }
  return all;
}

bool Verifier::Run(bool all_manifests) {
  ManifestStore manifests(store_, SystemClock());
  auto latest = manifests.LoadLatest();
  if (!latest.ok()) {
    if (latest.status().IsNotFound()) {
      Report("manifest/", "no manifest: there is no database at " + url_);
    } else {
      Report("manifest/", "cannot read the latest manifest: " + latest.status().ToString());
    }
    return false;
  }
  latest_version_ = latest->version();
  writer_epoch_ = latest->writer_epoch();
  const std::string key = ManifestObjectKey(latest_version_);
  if (all_manifests) {
    VerifyAllManifests();
  } else {
    auto info = store_->Head(key);
    Count("manifest", info.ok() ? info->size : 0);
    checked_.insert("\t" + key);
  }
  VerifyReferences(*latest, key);
  VerifyCheckpoints(*latest);
  return true;
}

void Verifier::VerifyAllManifests() {
  auto listed = ListAll("manifest/", {});
  if (!listed.ok()) return Report("manifest/", "cannot list: " + listed.status().ToString());
  for (const ObjectInfo& info : *listed) {
    if (!ParseManifestObjectKey(info.key).ok()) continue;  // LATEST, BOUNDARY
    auto got = store_->Get(info.key);
    if (!got.ok()) {
      // Listed but gone: pruned by GC meanwhile, unless it is the latest.
      if (!got.status().IsNotFound()) Report(info.key, "cannot read: " + got.status().ToString());
      continue;
    }
    Count("manifest", got->data.size());
    checked_.insert("\t" + info.key);
    auto m = DecodeManifest(info.key, got->data);
    if (!m.ok()) Report(info.key, m.status().ToString());
  }
}

void Verifier::VerifyReferences(const Manifest& m, std::string_view source) {
  for (const auto& sst : m.l0()) VerifySst(sst, source);
  for (const auto& level : m.levels()) {
    for (const auto& sst : level.ssts()) VerifySst(sst, source);
  }
  VerifyWal(m.replay_point(), m.next_wal_id(), source);
}

ObjectStore* Verifier::StoreFor(const proto::SstMeta& meta) {
  if (meta.db_url().empty()) return store_.get();
  auto it = parent_stores_.find(meta.db_url());
  if (it == parent_stores_.end()) {
    auto opened = OpenStoreReadOnly(meta.db_url());
    if (!opened.ok()) {
      Report(meta.object_key(), "cannot open the parent database " + meta.db_url() + ": " +
                                    opened.status().ToString());
      return nullptr;
    }
    it = parent_stores_.emplace(meta.db_url(), std::move(opened).value()).first;
  }
  return it->second.get();
}

uint64_t Verifier::CurrentReplayPoint() {
  if (!current_replay_point_) {
    ManifestStore manifests(store_, SystemClock());
    auto latest = manifests.LoadLatest(latest_version_);
    current_replay_point_ = latest.ok() ? latest->replay_point() : 0;
  }
  return *current_replay_point_;
}

void Verifier::VerifySst(const proto::SstMeta& meta, std::string_view source) {
  const std::string& key = meta.object_key();
  if (!checked_.insert(meta.db_url() + "\t" + key).second) return;
  ObjectStore* store = StoreFor(meta);
  if (store == nullptr) return;
  auto got = store->Get(key);
  if (!got.ok()) {
    if (got.status().IsNotFound()) {
      Report(key, "missing (referenced by " + std::string(source) + ")");
    } else {
      Report(key, "cannot read: " + got.status().ToString());
    }
    return;
  }
  auto bytes = std::make_shared<const std::string>(std::move(got->data));
  Count("sst", bytes->size());
  if (bytes->size() != meta.size_bytes()) {
    Report(key, "has " + std::to_string(bytes->size()) + " bytes, the manifest says " +
                    std::to_string(meta.size_bytes()));
  }
  // SstReader checks the footer, the metadata checksum, the header, the properties, the index
  // and the range tombstones; VerifySstContents every data block against them.
  auto reader = SstReader::OpenFromBytes(key, bytes);
  if (!reader.ok()) return Report(key, reader.status().ToString());
  const SstVerifyResult r = VerifySstContents(**reader, *bytes);
  for (const std::string& what : r.problems) Report(key, what);
  if (!r.blocks_decoded) return;  // the totals cover only the blocks that decode
  // Against the manifest's record of the SST.
  if (r.entries != meta.num_entries()) {
    Report(key, "entries: " + std::to_string(r.entries) + " in the data blocks, " +
                    std::to_string(meta.num_entries()) + " in the manifest");
  }
  if (r.smallest_key.empty()) return;
  if (meta.smallest_key().size() < 8 || meta.largest_key().size() < 8 ||
      CompareInternalKeys(meta.smallest_key(), r.smallest_key) > 0 ||
      CompareInternalKeys(r.largest_key, meta.largest_key()) > 0) {
    Report(key, "holds keys outside the range the manifest records for it");
  }
  if (r.min_seq < meta.smallest_seq() || r.max_seq > meta.largest_seq()) {
    Report(key, "holds sequences [" + std::to_string(r.min_seq) + ", " + std::to_string(r.max_seq) +
                    "] outside the manifest's [" + std::to_string(meta.smallest_seq()) + ", " +
                    std::to_string(meta.largest_seq()) + "]");
  }
}

void Verifier::VerifyWal(uint64_t replay_point, uint64_t next_wal_id, std::string_view source) {
  auto listed = ListAll("wal/", replay_point > 0 ? WalObjectKey(replay_point - 1) : "");
  if (!listed.ok()) return Report("wal/", "cannot list: " + listed.status().ToString());
  for (const ObjectInfo& info : *listed) {
    auto id = ParseWalObjectKey(info.key);
    if (!id.ok()) {
      Report(info.key, "not a WAL object key");
      continue;
    }
    if (!checked_.insert("\t" + info.key).second) continue;
    auto got = store_->Get(info.key);
    if (!got.ok()) {
      if (!got.status().IsNotFound()) Report(info.key, "cannot read: " + got.status().ToString());
      continue;
    }
    Count("wal", got->data.size());
    auto wal = DecodeWalObject(info.key, got->data);
    if (!wal.ok()) {
      Report(info.key, wal.status().ToString());
      wal_seen_[*id] = WalSeen{};
    } else {
      wal_seen_[*id] = WalSeen{wal->epoch, wal->fence};
    }
  }
  // Recovery replays from replay_point up to the first missing id and never reads past it, so
  // objects after a hole are unreachable. The ids the manifest says were used,
  // [replay_point, next_wal_id), may end in a hole (uploads a writer had not finished), and the
  // live tail above them ends in one. A hole followed by an object is harmless only when that
  // object is a segment of the latest writer written after its fence: its uploads are still
  // in flight, or it crashed and nobody has reopened (nothing after the hole was acknowledged,
  // since acknowledgements follow id order). A fence after a hole proves the hole was filled
  // when that writer recovered (it fences the first missing id), so an object was lost; so
  // does an older epoch's segment (unless it is a fenced writer's late upload, which needs a
  // long run of uploads in flight).
  uint64_t id = replay_point;
  uint64_t current_fence = 0;  // id of the latest writer's fence, if seen
  for (const auto& [wal_id, seen] : wal_seen_) {
    if (seen.fence && seen.epoch == writer_epoch_) current_fence = wal_id;
  }
  while (true) {
    auto next = wal_seen_.lower_bound(id);
    if (next == wal_seen_.end()) {
      if (id < next_wal_id &&
          std::find(wal_holes_.begin(), wal_holes_.end(), id) == wal_holes_.end()) {
        wal_holes_.push_back(id);
      }
      break;
    }
    if (next->first != id) {
      // Ids [id, next->first) are missing, and next->first exists.
      const WalSeen& seen = next->second;
      std::string what = "missing, but the later " + WalObjectKey(next->first) + " (" +
                         (seen.fence ? "a fence" : "a segment") + " of epoch " +
                         std::to_string(seen.epoch) + ") exists; recovery stops here";
      if (!seen.fence && seen.epoch == writer_epoch_ && current_fence < id) {
        warnings_.push_back(
            Problem{WalObjectKey(id), what + " (uploads of the latest writer not finished)"});
      } else if (id < CurrentReplayPoint()) {
        // A writer flushed past this id since we read the manifest, and GC may have deleted
        // it meanwhile: no longer needed, not lost.
      } else {
        Report(WalObjectKey(id),
               what + ": an object was lost (range of " + std::string(source) + ")");
      }
    }
    id = next->first + 1;
  }
}

void Verifier::VerifyCheckpoints(const Manifest& latest) {
  auto listed = ListAll(kCheckpointPrefix, {});
  if (!listed.ok()) {
    return Report(kCheckpointPrefix, "cannot list: " + listed.status().ToString());
  }
  std::set<std::string> copies;
  for (const ObjectInfo& info : *listed) {
    std::string_view key = info.key;
    if (key.size() <= kManifestSuffix.size() ||
        key.substr(key.size() - kManifestSuffix.size()) != kManifestSuffix) {
      continue;
    }
    copies.insert(info.key);
    auto got = store_->Get(info.key);
    if (!got.ok()) {
      Report(info.key, "cannot read: " + got.status().ToString());
      continue;
    }
    Count("checkpoint manifest", got->data.size());
    auto m = DecodeManifest(info.key, got->data);
    if (!m.ok()) {
      Report(info.key, m.status().ToString());
      continue;
    }
    VerifyReferences(*m, info.key);
  }
  for (const auto& checkpoint : latest.checkpoints()) {
    std::string key =
        std::string(kCheckpointPrefix) + checkpoint.id() + std::string(kManifestSuffix);
    if (copies.count(key) == 0) {
      Report(key, "missing: checkpoint '" + checkpoint.name() +
                      "' of the latest manifest has "
                      "no manifest copy");
    }
  }
}

void Verifier::PrintSummary(std::ostream& out) const {
  out << "verified " << url_ << " at manifest version " << latest_version_ << "\n";
  uint64_t objects = 0, bytes = 0;
  for (const auto& [kind, c] : counts_) {
    out << "  " << kind << ": " << c.objects << " objects, " << c.bytes << " bytes\n";
    objects += c.objects;
    bytes += c.bytes;
  }
  for (uint64_t id : wal_holes_) {
    out << "  WAL ids from " << id << " on not written (a hole at the end: uploads a writer "
        << "had not finished)\n";
  }
  for (const Problem& w : warnings_) out << "  warning: " << w.object_key << ": " << w.what << "\n";
  out << "objects checked: " << objects << ", bytes: " << bytes
      << ", problems: " << problems_.size() << "\n";
  out << (problems_.empty() ? "OK" : "FAILED") << "\n";
}

void Verifier::PrintJson(std::ostream& out) const {
  JsonWriter json;
  json.BeginObject();
  json.Member("url", url_);
  json.Member("manifest_version", latest_version_);
  json.Member("ok", problems_.empty());
  uint64_t objects = 0, bytes = 0;
  json.Key("kinds").BeginObject();
  for (const auto& [kind, c] : counts_) {
    json.Key(kind).BeginObject();
    json.Member("objects", c.objects);
    json.Member("bytes", c.bytes);
    json.EndObject();
    objects += c.objects;
    bytes += c.bytes;
  }
  json.EndObject();
  json.Member("objects_checked", objects);
  json.Member("bytes_checked", bytes);
  json.Key("wal_holes_at_end").BeginArray();
  for (uint64_t id : wal_holes_) json.Uint(id);
  json.EndArray();
  json.Key("warnings").BeginArray();
  for (const Problem& w : warnings_) {
    json.BeginObject();
    json.Member("object_key", w.object_key);
    json.Member("warning", w.what);
    json.EndObject();
  }
  json.EndArray();
  json.Key("problems").BeginArray();
  for (const Problem& p : problems_) {
    json.BeginObject();
    json.Member("object_key", p.object_key);
    json.Member("problem", p.what);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  out << json.str();
}

}  // namespace

Result<VerifyReport> Verify(std::string_view url_view, const VerifyOptions& options) {
  const std::string url(url_view);
  auto store = OpenStoreReadOnly(url);
  if (!store.ok()) return store.status().WithContext("cannot open " + url);
  Verifier verifier(url, std::move(store).value());
  VerifyReport report;
  report.examined = verifier.Run(options.all_manifests);
  for (const Problem& p : verifier.problems()) report.problems.push_back({p.object_key, p.what});
  for (const Problem& w : verifier.warnings()) report.warnings.push_back({w.object_key, w.what});
  std::ostringstream summary, json;
  if (report.examined) verifier.PrintSummary(summary);
  verifier.PrintJson(json);
  report.summary = summary.str();
  report.json = json.str();
  return report;
}

}  // namespace cloudkv::tools
