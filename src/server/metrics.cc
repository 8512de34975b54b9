// SPDX-License-Identifier: Apache-2.0
// Prometheus text exposition (format 0.0.4) of server, engine and object-store figures.
#include "server/metrics.h"

#include <cstdio>

#include "server/commands.h"

namespace cloudkv::server {

void Metrics::Record(size_t command, uint64_t latency_us, bool error) {
  if (command >= size_) return;
  Command& c = commands_[command];
  c.calls.fetch_add(1, std::memory_order_relaxed);
  if (error) c.errors.fetch_add(1, std::memory_order_relaxed);
  c.total_us.fetch_add(latency_us, std::memory_order_relaxed);
  size_t bucket = 0;
  while (bucket < kBucketsUs.size() && latency_us > kBucketsUs[bucket]) bucket++;
  c.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
}

namespace {

void Gauge(std::string* out, const char* name, const char* help, const char* type, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
          name + " " + buf + "\n";
}

}  // namespace

std::array<std::pair<const char*, uint64_t>, 5> StoreRequestsByKind(
    const DBStats::StoreRequests& r) {
  return {{{"get", r.get}, {"head", r.head}, {"put", r.put}, {"delete", r.del}, {"list", r.list}}};
}

std::string RenderPrometheus(ServerState& state) {
  std::string out;
  const Metrics& m = state.metrics;
  auto commands = AllCommands();
  out += "# HELP cloudkv_commands_total Commands executed, by command.\n";
  out += "# TYPE cloudkv_commands_total counter\n";
  for (size_t i = 0; i < m.size(); i++) {
    uint64_t calls = m.command(i).calls.load();
    if (calls == 0) continue;
    out += std::string("cloudkv_commands_total{cmd=\"") + commands[i].name + "\"} " +
           std::to_string(calls) + "\n";
  }
  out += "# HELP cloudkv_command_errors_total Commands that replied with an error.\n";
  out += "# TYPE cloudkv_command_errors_total counter\n";
  for (size_t i = 0; i < m.size(); i++) {
    uint64_t errors = m.command(i).errors.load();
    if (m.command(i).calls.load() == 0) continue;
    out += std::string("cloudkv_command_errors_total{cmd=\"") + commands[i].name + "\"} " +
           std::to_string(errors) + "\n";
  }
  out +=
      "# HELP cloudkv_command_duration_seconds Time from command start to reply ready "
      "(includes waiting for durability).\n";
  out += "# TYPE cloudkv_command_duration_seconds histogram\n";
  for (size_t i = 0; i < m.size(); i++) {
    const Metrics::Command& c = m.command(i);
    uint64_t calls = c.calls.load();
    if (calls == 0) continue;
    std::string label = std::string("cmd=\"") + commands[i].name + "\"";
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= Metrics::kBucketsUs.size(); b++) {
      cumulative += c.buckets[b].load();
      char le[32];
      if (b < Metrics::kBucketsUs.size()) {
        std::snprintf(le, sizeof(le), "%g", static_cast<double>(Metrics::kBucketsUs[b]) / 1e6);
      } else {
        std::snprintf(le, sizeof(le), "+Inf");
      }
      out += "cloudkv_command_duration_seconds_bucket{" + label + ",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    char sum[32];
    std::snprintf(sum, sizeof(sum), "%.6f", static_cast<double>(c.total_us.load()) / 1e6);
    out += "cloudkv_command_duration_seconds_sum{" + label + "} " + sum + "\n";
    out += "cloudkv_command_duration_seconds_count{" + label + "} " + std::to_string(cumulative) +
           "\n";
  }
  Gauge(&out, "cloudkv_connected_clients", "Open client connections.", "gauge",
        static_cast<double>(state.connected_clients.load()));
  Gauge(&out, "cloudkv_connections_total", "Connections accepted.", "counter",
        static_cast<double>(state.total_connections.load()));
  Gauge(&out, "cloudkv_protocol_errors_total", "Clients disconnected for protocol errors.",
        "counter", static_cast<double>(state.protocol_errors.load()));
  Gauge(&out, "cloudkv_auth_failures_total", "Failed AUTH and HELLO AUTH attempts.", "counter",
        static_cast<double>(state.auth_failures.load()));
  Gauge(&out, "cloudkv_output_limit_disconnections_total",
        "Clients disconnected for queued replies beyond the hard output limit.", "counter",
        static_cast<double>(state.output_limit_closes.load()));
  Gauge(&out, "cloudkv_auth_timeout_disconnections_total",
        "Clients disconnected for not authenticating in time.", "counter",
        static_cast<double>(state.auth_timeouts.load()));
  Gauge(&out, "cloudkv_write_timeout_disconnections_total",
        "Clients disconnected because a reply made no progress (the client does not read).",
        "counter", static_cast<double>(state.write_timeouts.load()));
  Gauge(&out, "cloudkv_accept_errors_total",
        "Failed accepts (EMFILE, ...); the acceptor backs off after each.", "counter",
        static_cast<double>(state.accept_errors.load()));
  Gauge(&out, "cloudkv_writes_in_flight", "Writes applied but not yet durable.", "gauge",
        static_cast<double>(state.tracker.InFlight()));
  Gauge(&out, "cloudkv_writer", "1 while this server is the database's writer (not fenced).",
        "gauge", state.IsWriter() ? 1 : 0);
  Gauge(&out, "cloudkv_fenced",
        "1 once a newer writer fenced this server (it then exits, or serves reads only).", "gauge",
        state.WasFenced() ? 1 : 0);
  Gauge(&out, "cloudkv_error_replies_total", "Replies that were errors.", "counter",
        static_cast<double>(state.error_replies.load()));
  DBStats s = state.db->GetStats();
  Gauge(&out, "cloudkv_last_sequence", "Last sequence number applied.", "gauge",
        static_cast<double>(s.last_sequence));
  Gauge(&out, "cloudkv_durable_sequence", "Last durable sequence number.", "gauge",
        static_cast<double>(s.durable_sequence));
  Gauge(&out, "cloudkv_memtable_bytes", "Bytes in the mutable memtable.", "gauge",
        static_cast<double>(s.memtable_bytes));
  Gauge(&out, "cloudkv_immutable_memtables", "Sealed memtables waiting for flush.", "gauge",
        static_cast<double>(s.immutable_memtables));
  Gauge(&out, "cloudkv_unflushed_wal_bytes", "WAL bytes not yet uploaded.", "gauge",
        static_cast<double>(s.unflushed_wal_bytes));
  Gauge(&out, "cloudkv_l0_files", "SSTs in level 0.", "gauge", static_cast<double>(s.l0_files));
  Gauge(&out, "cloudkv_wal_uploads_total", "WAL objects uploaded.", "counter",
        static_cast<double>(s.wal_uploads));
  Gauge(&out, "cloudkv_wal_upload_seconds_total",
        "Time WAL uploads took, summed from first attempt to stored.", "counter",
        static_cast<double>(s.wal_upload_micros) / 1e6);
  Gauge(&out, "cloudkv_wal_batches_total", "Write batches carried by the WAL uploads.", "counter",
        static_cast<double>(s.wal_batches));
  Gauge(&out, "cloudkv_flushes_total", "Memtable flushes.", "counter",
        static_cast<double>(s.flushes));
  Gauge(&out, "cloudkv_compactions_total", "Compactions run.", "counter",
        static_cast<double>(s.compactions));
  Gauge(&out, "cloudkv_compaction_bytes_read_total", "Bytes of SSTs read by compactions.",
        "counter", static_cast<double>(s.compaction_bytes_read));
  Gauge(&out, "cloudkv_compaction_bytes_written_total", "Bytes of SSTs written by compactions.",
        "counter", static_cast<double>(s.compaction_bytes_written));
  Gauge(&out, "cloudkv_pending_compaction_bytes", "Estimated bytes compaction must rewrite.",
        "gauge", static_cast<double>(s.pending_compaction_bytes));
  Gauge(&out, "cloudkv_write_amplification", "SST bytes written per user byte written.", "gauge",
        s.write_amplification);
  Gauge(&out, "cloudkv_write_stalls_total", "Writes that waited for memory or L0.", "counter",
        static_cast<double>(s.write_stalls));
  Gauge(&out, "cloudkv_write_slowdowns_total", "Writes delayed at the L0 slowdown trigger.",
        "counter", static_cast<double>(s.write_slowdowns));
  Gauge(&out, "cloudkv_gc_runs_total", "Garbage-collection passes completed.", "counter",
        static_cast<double>(s.gc_runs));
  Gauge(&out, "cloudkv_gc_objects_deleted_total", "Objects deleted by garbage collection.",
        "counter", static_cast<double>(s.gc_objects_deleted));
  Gauge(&out, "cloudkv_gc_bytes_reclaimed_total", "Bytes deleted by garbage collection.", "counter",
        static_cast<double>(s.gc_bytes_reclaimed));
  const std::pair<const char*, std::pair<const char*, uint64_t>> caches[] = {
      {"cloudkv_block_cache_hits_total",
       {"Block reads served by the memory cache.", s.block_cache_hits}},
      {"cloudkv_block_cache_misses_total",
       {"Block reads the memory cache missed.", s.block_cache_misses}},
      {"cloudkv_block_cache_evictions_total",
       {"Blocks evicted from the memory cache.", s.block_cache_evictions}},
      {"cloudkv_disk_cache_hits_total",
       {"SST part reads served by the disk cache.", s.disk_cache_hits}},
      {"cloudkv_disk_cache_misses_total",
       {"SST part reads the disk cache missed.", s.disk_cache_misses}},
      {"cloudkv_disk_cache_read_bytes_total",
       {"Bytes served by the disk cache.", s.disk_cache_bytes_read}},
      {"cloudkv_disk_cache_inserted_bytes_total",
       {"Bytes written into the disk cache.", s.disk_cache_bytes_inserted}},
      {"cloudkv_disk_cache_evictions_total",
       {"Parts evicted from the disk cache.", s.disk_cache_evictions}},
      {"cloudkv_disk_cache_corrupt_parts_total",
       {"Disk cache parts that failed their checksum (dropped).",
        s.disk_cache_corrupt_parts_dropped}},
      {"cloudkv_disk_cache_write_errors_total",
       {"Failed writes into the disk cache.", s.disk_cache_write_errors}},
  };
  for (const auto& [name, help_value] : caches) {
    Gauge(&out, name, help_value.first, "counter", static_cast<double>(help_value.second));
  }
  Gauge(&out, "cloudkv_block_cache_bytes", "Bytes held by the memory block cache.", "gauge",
        static_cast<double>(s.block_cache_bytes));
  Gauge(&out, "cloudkv_disk_cache_bytes", "Bytes of the disk cache's files.", "gauge",
        static_cast<double>(s.disk_cache_bytes));
  Gauge(&out, "cloudkv_disk_cache_disabled",
        "1 if a write into the disk cache failed and it is off for this process.", "gauge",
        s.disk_cache_disabled ? 1.0 : 0.0);
  const DBStats::StoreRequests& r = s.store;
  out += "# HELP cloudkv_store_requests_total Object-store requests, by kind.\n";
  out += "# TYPE cloudkv_store_requests_total counter\n";
  for (const auto& [kind, count] : StoreRequestsByKind(r)) {
    out += "cloudkv_store_requests_total{kind=\"" + std::string(kind) + "\"} " +
           std::to_string(count) + "\n";
  }
  Gauge(&out, "cloudkv_store_errors_total", "Object-store requests that failed.", "counter",
        static_cast<double>(r.errors));
  Gauge(&out, "cloudkv_store_bytes_read_total", "Bytes read from the object store.", "counter",
        static_cast<double>(r.bytes_read));
  Gauge(&out, "cloudkv_store_bytes_written_total", "Bytes written to the object store.", "counter",
        static_cast<double>(r.bytes_written));
  Gauge(&out, "cloudkv_store_estimated_request_cost_usd",
        "Request cost so far at the configured request prices.", "counter",
        r.estimated_cost_dollars);
  return out;
}

}  // namespace cloudkv::server
