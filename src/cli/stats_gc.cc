// SPDX-License-Identifier: Apache-2.0
// `cloudkv stats` and `cloudkv gc` (see commands.h and docs/cli.md).
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cloudkv/db.h"
#include "cloudkv/object_store.h"
#include "cloudkv/tools.h"

namespace cloudkv::cli {
namespace {

// Named figures printed as aligned text or as one JSON object.
class Report {
 public:
  void Int(std::string name, uint64_t v) { rows_.emplace_back(std::move(name), std::to_string(v)); }
  void Real(std::string name, double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", v);
    rows_.emplace_back(std::move(name), buf);
  }
  void Text(std::string name, const std::string& v) {
    rows_.emplace_back(std::move(name), "\"" + tools::EscapeJson(v) + "\"");
  }
  std::string AsText(int width) const {
    std::string out;
    for (const auto& [name, value] : rows_) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%-*s ", width, name.c_str());
      out += buf;
      out += value.front() == '"' ? value.substr(1, value.size() - 2) : value;
      out += "\n";
    }
    return out;
  }
  std::string AsJson() const {
    std::string out = "{";
    for (size_t i = 0; i < rows_.size(); i++) {
      out += (i ? ",\"" : "\"") + rows_[i].first + "\":" + rows_[i].second;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

Result<std::unique_ptr<DB>> OpenReadOnly(const std::string& url) {
  Options options;
  options.read_only = true;
  auto db = DB::Open(url, options);
  if (!db.ok()) {
    std::cerr << "cloudkv: cannot open " << url << ": " << db.status().ToString() << "\n";
  }
  return db;
}

int Fail(const Status& status, std::string_view what) {
  std::cerr << "cloudkv: " << what << ": " << status.ToString() << "\n";
  return kExitFailure;
}

// Every object key under the prefixes GC may delete from.
Result<std::set<std::string>> ListCollectable(ObjectStore* store) {
  std::set<std::string> keys;
  for (std::string_view prefix : {"manifest/", "sst/", "wal/"}) {
    std::string after;
    while (true) {
      auto page = store->List(prefix, after);
      if (!page.ok()) return page.status();
      for (const auto& obj : page->objects) keys.insert(obj.key);
      if (!page->truncated || page->objects.empty()) break;
      after = page->objects.back().key;
    }
  }
  return keys;
}

// Keys by kind: "manifest", "sst", "wal".
std::map<std::string, uint64_t> CountByKind(const std::set<std::string>& keys) {
  std::map<std::string, uint64_t> counts{{"manifest", 0}, {"sst", 0}, {"wal", 0}};
  for (const auto& key : keys) counts[key.substr(0, key.find('/'))]++;
  return counts;
}

// A uint64 field of the manifest's JSON (protobuf JSON: "name": "123"), under its proto name
// or its lowerCamelCase JSON name; 0 when absent.
uint64_t ManifestNumber(const std::string& json, const std::string& name) {
  size_t at = json.find("\"" + name + "\"");
  if (at == std::string::npos) {
    std::string camel;
    for (size_t i = 0; i < name.size(); i++) {
      if (name[i] == '_' && i + 1 < name.size()) {
        camel.push_back(static_cast<char>(name[++i] - 'a' + 'A'));
      } else {
        camel.push_back(name[i]);
      }
    }
    at = json.find("\"" + camel + "\"");
  }
  if (at == std::string::npos) return 0;
  at = json.find(':', at);
  if (at == std::string::npos) return 0;
  while (at < json.size() && (json[at] == ':' || json[at] == ' ' || json[at] == '"')) at++;
  uint64_t v = 0;
  while (at < json.size() && json[at] >= '0' && json[at] <= '9') v = v * 10 + (json[at++] - '0');
  return v;
}

std::string Duration(uint64_t micros) {
  char buf[48];
  double s = static_cast<double>(micros) / 1e6;
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%.1f h", s / 3600);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%.1f min", s / 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f s", s);
  }
  return buf;
}

}  // namespace

int Stats(const std::string& url, bool json) {
  auto db = OpenReadOnly(url);
  if (!db.ok()) return kExitFailure;
  DBStats s = (*db)->GetStats();
  // What the database holds (from the manifest and WAL this open loaded).
  Report database;
  database.Int("last_sequence", s.last_sequence);
  database.Int("writer_epoch", s.writer_epoch);
  database.Int("manifest_version", s.manifest_version);
  database.Int("l0_files", s.l0_files);
  for (size_t i = 0; i < s.level_files.size(); i++) {
    database.Int("l" + std::to_string(i + 1) + "_files", s.level_files[i]);
  }
  for (size_t i = 0; i < s.level_bytes.size(); i++) {
    database.Int("l" + std::to_string(i) + "_bytes", s.level_bytes[i]);
  }
  database.Int("pending_compaction_bytes", s.pending_compaction_bytes);
  // What this process did since it opened the database: a fresh `cloudkv stats` open did only
  // the reads of opening. A writer's counters are in INFO / /metrics of `cloudkv serve`.
  Report process;
  process.Int("durable_sequence", s.durable_sequence);
  process.Int("memtable_bytes", s.memtable_bytes);
  process.Int("immutable_memtables", s.immutable_memtables);
  process.Int("unflushed_wal_bytes", s.unflushed_wal_bytes);
  process.Int("wal_uploads", s.wal_uploads);
  process.Int("wal_upload_bytes", s.wal_upload_bytes);
  process.Int("wal_upload_micros", s.wal_upload_micros);
  process.Int("wal_batches", s.wal_batches);
  process.Int("flushes", s.flushes);
  process.Int("flush_bytes_written", s.flush_bytes_written);
  process.Int("compactions", s.compactions);
  process.Int("trivial_moves", s.trivial_moves);
  process.Int("compactions_failed", s.compactions_failed);
  process.Int("compaction_bytes_read", s.compaction_bytes_read);
  process.Int("compaction_bytes_written", s.compaction_bytes_written);
  process.Int("compaction_micros", s.compaction_micros);
  process.Real("compaction_bytes_per_sec", s.compaction_bytes_per_second);
  process.Int("user_bytes_written", s.user_bytes_written);
  process.Real("write_amplification", s.write_amplification);
  process.Int("write_stalls", s.write_stalls);
  process.Int("write_slowdowns", s.write_slowdowns);
  process.Int("gc_runs", s.gc_runs);
  process.Int("gc_objects_deleted", s.gc_objects_deleted);
  process.Int("gc_bytes_reclaimed", s.gc_bytes_reclaimed);
  process.Int("block_cache_hits", s.block_cache_hits);
  process.Int("block_cache_misses", s.block_cache_misses);
  process.Int("block_cache_bytes", s.block_cache_bytes);
  process.Int("block_cache_evictions", s.block_cache_evictions);
  process.Int("disk_cache_hits", s.disk_cache_hits);
  process.Int("disk_cache_misses", s.disk_cache_misses);
  process.Int("disk_cache_bytes_read", s.disk_cache_bytes_read);
  process.Int("disk_cache_evictions", s.disk_cache_evictions);
  process.Int("disk_cache_bytes", s.disk_cache_bytes);
  process.Int("store_get_requests", s.store.get);
  process.Int("store_head_requests", s.store.head);
  process.Int("store_put_requests", s.store.put);
  process.Int("store_delete_requests", s.store.del);
  process.Int("store_list_requests", s.store.list);
  if (json) {
    std::cout << "{\"database\":" << database.AsJson() << ",\"this_process\":" << process.AsJson()
              << "}\n";
  } else {
    std::cout << "# The database (its latest manifest and WAL)\n"
              << database.AsText(26)
              << "\n# This process only, since it opened the database read-only just now (a "
                 "running writer's counters are in `cloudkv serve`'s INFO and /metrics)\n"
              << process.AsText(26);
  }
  Status closed = (*db)->Close();
  return closed.ok() ? kExitOk : Fail(closed, "close");
}

// Runs one GC pass on a read-only open, so a running writer is not fenced (docs/design.md §10),
// and says what it deleted and what it kept, and why.
int Gc(const std::string& url, bool list, bool json) {
  auto opened = OpenReadOnly(url);
  if (!opened.ok()) return kExitFailure;
  DB* db = opened->get();
  auto before = ListCollectable(db->store().get());
  if (!before.ok()) return Fail(before.status(), "gc (listing)");
  Status s = db->CollectGarbage();
  DBStats stats = db->GetStats();
  auto after = ListCollectable(db->store().get());
  if (!after.ok()) return Fail(after.status(), "gc (listing)");
  std::vector<std::string> deleted;
  for (const auto& key : *before) {
    if (!after->count(key)) deleted.push_back(key);
  }
  // The retention settings live in the manifest (the database's, not this process's).
  uint64_t retention = 0, min_age = 0, skew = 0;
  if (auto manifest = tools::InspectManifest(url, std::nullopt); manifest.ok()) {
    retention = ManifestNumber(*manifest, "history_retention_micros");
    min_age = ManifestNumber(*manifest, "gc_min_age_micros");
    skew = ManifestNumber(*manifest, "max_clock_skew_micros");
  }
  std::map<std::string, uint64_t> kept = CountByKind(*after);
  const uint64_t window = std::max(retention, min_age) + skew;
  Report report;
  report.Int("manifests_deleted", stats.gc_manifests_deleted);
  report.Int("ssts_deleted", stats.gc_ssts_deleted);
  report.Int("wal_objects_deleted", stats.gc_wal_objects_deleted);
  report.Int("bytes_reclaimed", stats.gc_bytes_reclaimed);
  report.Int("manifests_kept", kept["manifest"]);
  report.Int("ssts_kept", kept["sst"]);
  report.Int("wal_objects_kept", kept["wal"]);
  report.Int("history_window_micros", window);
  report.Int("min_age_micros", min_age + skew);
  if (json) {
    std::string keys;
    for (size_t i = 0; i < deleted.size(); i++) {
      keys += (i ? ",\"" : "\"") + tools::EscapeJson(deleted[i]) + "\"";
    }
    std::string body = report.AsJson();
    body.pop_back();
    std::cout << body << ",\"deleted\":[" << keys << "],\"ok\":" << (s.ok() ? "true" : "false")
              << "}\n";
  } else {
    if (list) {
      for (const auto& key : deleted) std::printf("deleted %s\n", key.c_str());
    }
    std::cout << report.AsText(22);
    std::cout << "kept: the latest manifest, every manifest committed in the last "
              << Duration(window)
              << " (history window: max(history_retention, gc_min_age) + max_clock_skew) and "
                 "the newest one before it, the SSTs and WAL objects those manifests need, "
                 "and unreferenced SSTs younger than "
              << Duration(min_age + skew)
              << " (gc_min_age + max_clock_skew: a writer may still commit them). WAL fences "
                 "are never deleted. Checkpoints would pin more; none exist yet (#19).\n";
  }
  if (!s.ok()) return Fail(s, "gc");
  Status closed = db->Close();
  return closed.ok() ? kExitOk : Fail(closed, "close");
}

}  // namespace cloudkv::cli
