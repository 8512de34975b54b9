// SPDX-License-Identifier: Apache-2.0
// Server commands: PING, ECHO, INFO, CONFIG, COMMAND, TIME.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string Human(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30)) {
    std::snprintf(buf, sizeof(buf), "%.2fG", static_cast<double>(bytes) / (1ull << 30));
  } else if (bytes >= (1ull << 20)) {
    std::snprintf(buf, sizeof(buf), "%.2fM", static_cast<double>(bytes) / (1ull << 20));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2fK", static_cast<double>(bytes) / 1024);
  }
  return buf;
}

void Line(std::string* out, std::string_view key, const auto& value) {
  out->append(key);
  out->push_back(':');
  if constexpr (std::is_arithmetic_v<std::decay_t<decltype(value)>>) {
    out->append(std::to_string(value));
  } else {
    out->append(value);
  }
  out->append("\r\n");
}

// The INFO text of the sections named (lower case; "all", "everything" and "default" name
// every section), in Redis's fixed section order whatever the order asked, each once.
std::string InfoText(CommandContext& ctx, const std::vector<std::string>& sections) {
  ServerState& s = *ctx.server;
  bool all = false;
  for (const std::string& section : sections) {
    all |= section == "all" || section == "everything" || section == "default";
  }
  std::string out;
  auto want = [&](std::string_view name) {
    return all || std::find(sections.begin(), sections.end(), name) != sections.end();
  };
  uint64_t now = NowMs();
  if (want("server")) {
    out += "# Server\r\n";
    Line(&out, "redis_version", std::string("7.0.15"));
    Line(&out, "cloudkv_version", std::string(CLOUDKV_VERSION));
    Line(&out, "redis_mode", std::string("standalone"));
    Line(&out, "os", std::string("Linux"));
    Line(&out, "arch_bits", 64);
    Line(&out, "process_id", static_cast<int64_t>(getpid()));
    Line(&out, "tcp_port", s.config.port);
    Line(&out, "uptime_in_seconds", (now - s.start_ms) / 1000);
    Line(&out, "uptime_in_days", (now - s.start_ms) / 86400000);
    Line(&out, "executable", std::string("cloudkv"));
    Line(&out, "db_url", s.config.db_url);
    out += "\r\n";
  }
  if (want("clients")) {
    out += "# Clients\r\n";
    Line(&out, "connected_clients", s.connected_clients.load());
    Line(&out, "maxclients", s.config.max_clients);
    Line(&out, "blocked_clients", 0);
    out += "\r\n";
  }
  DBStats stats = s.db->GetStats();
  if (want("memory")) {
    uint64_t rss = ResidentBytes();
    out += "# Memory\r\n";
    Line(&out, "used_memory", rss);
    Line(&out, "used_memory_human", Human(rss));
    Line(&out, "used_memory_rss", rss);
    Line(&out, "memtable_bytes", stats.memtable_bytes);
    Line(&out, "block_cache_bytes", stats.block_cache_bytes);
    Line(&out, "maxmemory", s.tunables.Get("maxmemory"));
    Line(&out, "maxmemory_policy", s.tunables.Get("maxmemory-policy"));
    out += "\r\n";
  }
  if (want("persistence")) {
    out += "# Persistence\r\n";
    Line(&out, "loading", 0);
    Line(&out, "rdb_changes_since_last_save", 0);
    Line(&out, "aof_enabled", 0);
    Line(&out, "unflushed_wal_bytes", stats.unflushed_wal_bytes);
    out += "\r\n";
  }
  if (want("stats")) {
    out += "# Stats\r\n";
    Line(&out, "total_connections_received", s.total_connections.load());
    Line(&out, "total_commands_processed", s.total_commands.load());
    Line(&out, "rejected_connections", s.rejected_connections.load());
    Line(&out, "total_error_replies", s.error_replies.load());
    Line(&out, "protocol_errors", s.protocol_errors.load());
    Line(&out, "acl_access_denied_auth", s.auth_failures.load());
    Line(&out, "client_output_buffer_limit_disconnections", s.output_limit_closes.load());
    Line(&out, "auth_timeout_disconnections", s.auth_timeouts.load());
    Line(&out, "write_timeout_disconnections", s.write_timeouts.load());
    Line(&out, "accept_errors", s.accept_errors.load());
    Line(&out, "keyspace_hits", s.keyspace_hits.load());
    Line(&out, "keyspace_misses", s.keyspace_misses.load());
    Line(&out, "writes_in_flight", s.tracker.InFlight());
    out += "\r\n";
  }
  if (want("replication")) {
    out += "# Replication\r\n";
    Line(&out, "role", std::string(s.IsWriter() ? "master" : "slave"));
    Line(&out, "fenced", s.WasFenced() ? 1 : 0);
    Line(&out, "connected_slaves", 0);
    out += "\r\n";
  }
  if (want("cloudkv")) {
    out += "# cloudkv\r\n";
    Line(&out, "last_sequence", stats.last_sequence);
    Line(&out, "durable_sequence", stats.durable_sequence);
    Line(&out, "writer_epoch", stats.writer_epoch);
    Line(&out, "manifest_version", stats.manifest_version);
    Line(&out, "immutable_memtables", stats.immutable_memtables);
    Line(&out, "l0_files", stats.l0_files);
    Line(&out, "wal_uploads", stats.wal_uploads);
    Line(&out, "wal_upload_bytes", stats.wal_upload_bytes);
    Line(&out, "wal_upload_micros", stats.wal_upload_micros);
    Line(&out, "wal_batches", stats.wal_batches);
    Line(&out, "flushes", stats.flushes);
    Line(&out, "compactions", stats.compactions);
    Line(&out, "block_cache_hits", stats.block_cache_hits);
    Line(&out, "block_cache_misses", stats.block_cache_misses);
    Line(&out, "block_cache_evictions", stats.block_cache_evictions);
    Line(&out, "block_cache_capacity_bytes", stats.block_cache_capacity_bytes);
    Line(&out, "disk_cache_hits", stats.disk_cache_hits);
    Line(&out, "disk_cache_misses", stats.disk_cache_misses);
    Line(&out, "disk_cache_bytes_read", stats.disk_cache_bytes_read);
    Line(&out, "disk_cache_bytes_inserted", stats.disk_cache_bytes_inserted);
    Line(&out, "disk_cache_evictions", stats.disk_cache_evictions);
    Line(&out, "disk_cache_bytes", stats.disk_cache_bytes);
    Line(&out, "disk_cache_capacity_bytes", stats.disk_cache_capacity_bytes);
    Line(&out, "disk_cache_corrupt_parts_dropped", stats.disk_cache_corrupt_parts_dropped);
    Line(&out, "disk_cache_write_errors", stats.disk_cache_write_errors);
    Line(&out, "disk_cache_disabled", stats.disk_cache_disabled ? 1 : 0);
    Line(&out, "write_stalls", stats.write_stalls);
    Line(&out, "gc_runs", stats.gc_runs);
    Line(&out, "gc_objects_deleted", stats.gc_objects_deleted);
    Line(&out, "gc_bytes_reclaimed", stats.gc_bytes_reclaimed);
    const DBStats::StoreRequests& r = stats.store;
    for (const auto& [kind, count] : StoreRequestsByKind(r)) {
      Line(&out, "store_" + std::string(kind) + "_requests", count);
    }
    Line(&out, "store_errors", r.errors);
    Line(&out, "store_bytes_read", r.bytes_read);
    Line(&out, "store_bytes_written", r.bytes_written);
    char cost[32];
    std::snprintf(cost, sizeof(cost), "%.6f", r.estimated_cost_dollars);
    Line(&out, "store_estimated_request_cost_usd", std::string(cost));
    out += "\r\n";
  }
  if (want("keyspace")) {
    out += "# Keyspace\r\n";
    // The last background count (keyspace_counter.h): INFO never scans the keys itself.
    KeyspaceCounter::Figures k = s.keyspace.Get(NowMs());
    if (k.known && k.keys > 0) {
      out += "db0:keys=" + std::to_string(k.keys) + ",expires=" + std::to_string(k.expires) +
             ",avg_ttl=0,counted_ms_ago=" + std::to_string(k.age_ms) + "\r\n";
    }
    out += "\r\n";
  }
  if (out.size() >= 2) out.resize(out.size() - 2);  // no blank line at the end
  return out;
}

void CommandInfo(ReplyWriter* out, const CommandSpec& spec) {
  out->Array(10);
  out->Bulk(spec.name);
  out->Integer(spec.arity);
  std::vector<std::string_view> flags;
  if (spec.flags & kCmdWrite) flags.push_back("write");
  if (spec.flags & kCmdReadOnly) flags.push_back("readonly");
  if (spec.flags & kCmdFast) flags.push_back("fast");
  if (spec.flags & kCmdNoAuth) flags.push_back("no_auth");
  if (spec.flags & kCmdAdmin) flags.push_back("admin");
  out->Set(flags.size());
  for (auto f : flags) out->Simple(f);
  out->Integer(spec.first_key);
  out->Integer(spec.last_key);
  out->Integer(spec.step);
  out->Set(0);
  out->Set(0);
  out->Array(0);
  out->Array(0);
}

// CONFIG SET name value [name value ...]: Redis's encoding and memory tunables are stored
// (all or none); the rest of the configuration is set by command-line flags.
void ConfigSet(CommandContext& ctx) {
  const auto& a = ctx.args;
  if (a.size() < 4) return ctx.out->Error("ERR wrong number of arguments for 'config|set' command");
  if (a.size() % 2 != 0) return ctx.out->Error(kErrSyntax);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 2; i + 1 < a.size(); i += 2) {
    if (!Tunables::Known(a[i])) {
      return ctx.out->Error("ERR Unknown option or number of arguments for CONFIG SET - '" + a[i] +
                            "'");
    }
    pairs.emplace_back(a[i], a[i + 1]);
  }
  std::optional<std::string> error = ctx.server->tunables.Set(pairs);
  if (error) return ctx.out->Error(*error);
  ctx.out->Simple("OK");
}

}  // namespace

void CmdPing(CommandContext& ctx) {
  if (ctx.args.size() > 2)
    return ctx.out->Error("ERR wrong number of arguments for 'ping' command");
  if (ctx.args.size() == 2) return ctx.out->Bulk(ctx.args[1]);
  ctx.out->Simple("PONG");
}

// SAVE: every acknowledged write is durable in the object store already, so there is
// nothing to snapshot.
void CmdSave(CommandContext& ctx) { ctx.out->Simple("OK"); }

void CmdEcho(CommandContext& ctx) { ctx.out->Bulk(ctx.args[1]); }

void CmdTime(CommandContext& ctx) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  ctx.out->Array(2);
  ctx.out->Bulk(std::to_string(us / 1000000));
  ctx.out->Bulk(std::to_string(us % 1000000));
}

void CmdInfo(CommandContext& ctx) {
  std::vector<std::string> sections;
  for (size_t i = 1; i < ctx.args.size(); i++) sections.push_back(Lower(ctx.args[i]));
  if (sections.empty()) sections.push_back("default");
  ctx.out->Bulk(InfoText(ctx, sections) + "\r\n");
}

void CmdConfig(CommandContext& ctx) {
  std::string sub = Lower(ctx.args[1]);
  const ServerConfig& c = ctx.server->config;
  if (sub == "get") {
    if (ctx.args.size() < 3) {
      return ctx.out->Error("ERR wrong number of arguments for 'config|get' command");
    }
    const std::vector<std::pair<std::string, std::string>> params = {
        {"save", ""},
        {"appendonly", "no"},
        {"appendfsync", "always"},
        {"databases", "1"},
        {"maxclients", std::to_string(c.max_clients)},
        {"port", std::to_string(c.port)},
        {"bind", c.bind},
        {"timeout", std::to_string(c.idle_timeout_s)},
        {"proto-max-bulk-len", std::to_string(c.resp.max_bulk_bytes)},
        {"client-query-buffer-limit", std::to_string(c.max_query_buffer_bytes)},
    };
    std::vector<const std::pair<std::string, std::string>*> found;
    for (const auto& p : params) {
      for (size_t i = 2; i < ctx.args.size(); i++) {
        if (GlobMatch(Lower(ctx.args[i]), p.first)) {
          found.push_back(&p);
          break;
        }
      }
    }
    // Tunables (CONFIG SET stores them) by canonical name and alias, each once.
    std::vector<std::pair<std::string, std::string>> tunables;
    for (size_t i = 2; i < ctx.args.size(); i++) {
      for (auto& pair : ctx.server->tunables.Match(ctx.args[i])) {
        if (std::find(tunables.begin(), tunables.end(), pair) == tunables.end()) {
          tunables.push_back(std::move(pair));
        }
      }
    }
    ctx.out->Map(found.size() + tunables.size());
    for (const auto* p : found) {
      ctx.out->Bulk(p->first);
      ctx.out->Bulk(p->second);
    }
    for (const auto& [name, value] : tunables) {
      ctx.out->Bulk(name);
      ctx.out->Bulk(value);
    }
  } else if (sub == "resetstat") {
    ctx.out->Simple("OK");
  } else if (sub == "set") {
    ConfigSet(ctx);
  } else {
    ctx.out->Error("ERR unknown subcommand '" + ctx.args[1] + "'. Try CONFIG HELP.");
  }
}

void CmdCommand(CommandContext& ctx) {
  auto all = AllCommands();
  if (ctx.args.size() == 1) {
    ctx.out->Array(all.size());
    for (const auto& spec : all) CommandInfo(ctx.out, spec);
    return;
  }
  std::string sub = Lower(ctx.args[1]);
  if (sub == "count") {
    ctx.out->Integer(static_cast<int64_t>(all.size()));
  } else if (sub == "docs") {
    // Enough for redis-cli (it only uses the docs for hints): an empty map.
    ctx.out->Map(0);
  } else if (sub == "info") {
    ctx.out->Array(ctx.args.size() - 2);
    for (size_t i = 2; i < ctx.args.size(); i++) {
      const CommandSpec* spec = FindCommand(ctx.args[i]);
      if (spec != nullptr) {
        CommandInfo(ctx.out, *spec);
      } else {
        ctx.out->NullArray();
      }
    }
  } else if (sub == "list") {
    ctx.out->Array(all.size());
    for (const auto& spec : all) ctx.out->Bulk(spec.name);
  } else {
    ctx.out->Error("ERR unknown subcommand '" + ctx.args[1] + "'. Try COMMAND HELP.");
  }
}

}  // namespace cloudkv::server
