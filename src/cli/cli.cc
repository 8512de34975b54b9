// `cloudkv` subcommands. Every data command takes the database URL first. Commands that only
// read open the database read-only (no fencing of a running writer); put/del/load open it as
// the writer, which fences any other writer (e.g. a running `cloudkv serve`).
#include "cli/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include "cli/inspect.h"
#include "cloudkv/db.h"
#include "cloudkv/object_store.h"
#include "cloudkv/tools.h"
#include "server/server.h"

namespace cloudkv::cli {
namespace {

std::unique_ptr<DB> OpenOrDie(const std::string& url, bool read_only, bool create) {
  Options options;
  options.read_only = read_only;
  options.create_if_missing = create;
  auto db = DB::Open(url, options);
  if (!db.ok()) {
    std::cerr << "cloudkv: cannot open " << url << ": " << db.status().ToString() << "\n";
    std::exit(2);
  }
  return std::move(db).value();
}

int Fail(const Status& status, std::string_view what) {
  std::cerr << "cloudkv: " << what << ": " << status.ToString() << "\n";
  return 1;
}

int CloseDb(DB* db) {
  Status s = db->Close();
  return s.ok() ? 0 : Fail(s, "close");
}

// Progress on a terminal: rewrites one stderr line at most 5 times a second.
class Progress {
 public:
  explicit Progress(const char* verb) : verb_(verb), enabled_(isatty(STDERR_FILENO) != 0) {}
  void Update(uint64_t records, uint64_t bytes) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    std::fprintf(stderr, "\r%s %llu records, %.1f MiB", verb_,
                 static_cast<unsigned long long>(records), static_cast<double>(bytes) / (1 << 20));
  }
  void Done(uint64_t records, uint64_t bytes) {
    if (!enabled_) return;
    last_ = {};
    Update(records, bytes);
    std::fprintf(stderr, "\n");
  }

 private:
  const char* verb_;
  bool enabled_;
  std::chrono::steady_clock::time_point last_{};
};

struct ScanArgs {
  std::string prefix, start, end;
  uint64_t limit = 0;
  bool reverse = false;
};

// Visits entries in key order (or reverse) within the bounds, at most `limit` (0 = all).
Status Scan(DB* db, const ScanArgs& args,
            const std::function<void(std::string_view, std::string_view)>& fn) {
  ReadOptions options;
  std::string lower = args.start, upper = args.end;
  if (!args.prefix.empty()) {
    if (lower < args.prefix) lower = args.prefix;
    std::string next = args.prefix;
    while (!next.empty() && static_cast<unsigned char>(next.back()) == 0xff) next.pop_back();
    if (!next.empty()) {
      next.back() = static_cast<char>(next.back() + 1);
      if (upper.empty() || next < upper) upper = next;
    }
  }
  if (!lower.empty()) options.lower_bound = lower;
  if (!upper.empty()) options.upper_bound = upper;
  std::unique_ptr<Iterator> it = db->NewIterator(options);
  uint64_t n = 0;
  if (args.reverse) {
    for (it->SeekToLast(); it->Valid() && (args.limit == 0 || n < args.limit); it->Prev(), n++) {
      fn(it->key(), it->value());
    }
  } else {
    for (it->SeekToFirst(); it->Valid() && (args.limit == 0 || n < args.limit); it->Next(), n++) {
      fn(it->key(), it->value());
    }
  }
  return it->status();
}

int Load(const std::string& url, const std::string& file, const std::string& format, bool flush) {
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (file != "-") {
    in_file.open(file, std::ios::binary);
    if (!in_file) {
      std::cerr << "cloudkv: cannot read " << file << "\n";
      return 1;
    }
    in = &in_file;
  }
  auto db = OpenOrDie(url, false, true);
  WriteBatch batch;
  uint64_t records = 0, bytes = 0, line_no = 0;
  Progress progress("loaded");
  std::string line;
  constexpr size_t kBatchBytes = 4 << 20;
  while (std::getline(*in, line)) {
    line_no++;
    if (line.empty()) continue;
    std::optional<std::pair<std::string, std::string>> kv;
    if (format == "json") {
      kv = ParseJsonRecord(line);
    } else {
      size_t tab = line.find('\t');
      if (tab != std::string::npos) {
        auto k = UnescapeTsv(std::string_view(line).substr(0, tab));
        auto v = UnescapeTsv(std::string_view(line).substr(tab + 1));
        if (k && v) kv = std::make_pair(std::move(*k), std::move(*v));
      }
    }
    if (!kv) {
      std::cerr << "cloudkv: " << file << ":" << line_no << ": malformed " << format << " record\n";
      (void)db->Close();
      return 1;
    }
    batch.Put(kv->first, kv->second);
    records++;
    bytes += kv->first.size() + kv->second.size();
    if (batch.ByteSize() >= kBatchBytes) {
      Status s = db->Write(WriteOptions(), batch);
      if (!s.ok()) return Fail(s, "write");
      batch.Clear();
    }
    progress.Update(records, bytes);
  }
  if (!batch.empty()) {
    Status s = db->Write(WriteOptions(), batch);
    if (!s.ok()) return Fail(s, "write");
  }
  progress.Done(records, bytes);
  if (flush) {
    Status s = db->Flush();
    if (!s.ok()) return Fail(s, "flush");
  }
  return CloseDb(db.get());
}

int Dump(const std::string& url, const std::string& file, const std::string& format,
         const ScanArgs& args) {
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (!file.empty() && file != "-") {
    out_file.open(file, std::ios::binary | std::ios::trunc);
    if (!out_file) {
      std::cerr << "cloudkv: cannot write " << file << "\n";
      return 1;
    }
    out = &out_file;
  }
  auto db = OpenOrDie(url, true, false);
  uint64_t records = 0, bytes = 0;
  Progress progress("dumped");
  Status s = Scan(db.get(), args, [&](std::string_view k, std::string_view v) {
    if (format == "json") {
      *out << "{\"key\":\"" << tools::EscapeJson(k) << "\",\"value\":\"" << tools::EscapeJson(v)
           << "\"}\n";
    } else {
      *out << EscapeTsv(k) << '\t' << EscapeTsv(v) << '\n';
    }
    records++;
    bytes += k.size() + v.size();
    progress.Update(records, bytes);
  });
  progress.Done(records, bytes);
  out->flush();
  if (!s.ok()) return Fail(s, "scan");
  if (!*out) {
    std::cerr << "cloudkv: write error\n";
    return 1;
  }
  return CloseDb(db.get());
}

int Stats(const std::string& url) {
  auto db = OpenOrDie(url, true, false);
  DBStats s = db->GetStats();
  auto line = [](const char* name, uint64_t v) {
    std::printf("%-26s %llu\n", name, static_cast<unsigned long long>(v));
  };
  line("last_sequence", s.last_sequence);
  line("durable_sequence", s.durable_sequence);
  line("writer_epoch", s.writer_epoch);
  line("manifest_version", s.manifest_version);
  line("memtable_bytes", s.memtable_bytes);
  line("immutable_memtables", s.immutable_memtables);
  line("l0_files", s.l0_files);
  for (size_t i = 0; i < s.level_files.size(); i++) {
    std::string name = "l" + std::to_string(i + 1) + "_files";
    line(name.c_str(), s.level_files[i]);
  }
  for (size_t i = 0; i < s.level_bytes.size(); i++) {
    std::string name = "l" + std::to_string(i) + "_bytes";
    line(name.c_str(), s.level_bytes[i]);
  }
  auto real = [](const char* name, double v) { std::printf("%-26s %.3f\n", name, v); };
  line("unflushed_wal_bytes", s.unflushed_wal_bytes);
  line("wal_uploads", s.wal_uploads);
  line("wal_upload_bytes", s.wal_upload_bytes);
  line("wal_upload_micros", s.wal_upload_micros);
  line("wal_batches", s.wal_batches);
  line("flushes", s.flushes);
  line("flush_bytes_written", s.flush_bytes_written);
  line("compactions", s.compactions);
  line("trivial_moves", s.trivial_moves);
  line("compactions_failed", s.compactions_failed);
  line("compaction_bytes_read", s.compaction_bytes_read);
  line("compaction_bytes_written", s.compaction_bytes_written);
  line("compaction_micros", s.compaction_micros);
  real("compaction_bytes_per_sec", s.compaction_bytes_per_second);
  line("pending_compaction_bytes", s.pending_compaction_bytes);
  line("user_bytes_written", s.user_bytes_written);
  real("write_amplification", s.write_amplification);
  line("write_stalls", s.write_stalls);
  line("write_slowdowns", s.write_slowdowns);
  line("gc_runs", s.gc_runs);
  line("gc_objects_deleted", s.gc_objects_deleted);
  line("gc_bytes_reclaimed", s.gc_bytes_reclaimed);
  line("block_cache_hits", s.block_cache_hits);
  line("block_cache_misses", s.block_cache_misses);
  line("block_cache_bytes", s.block_cache_bytes);
  return CloseDb(db.get());
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

// Runs one GC pass on a read-only open, so a running writer is not fenced (docs/design.md §10).
int Gc(const std::string& url, bool list) {
  auto db = OpenOrDie(url, true, false);
  std::set<std::string> before;
  if (list) {
    auto listed = ListCollectable(db->store().get());
    if (!listed.ok()) return Fail(listed.status(), "gc (listing)");
    before = std::move(listed).value();
  }
  Status s = db->CollectGarbage();
  DBStats stats = db->GetStats();
  if (list) {
    auto after = ListCollectable(db->store().get());
    if (!after.ok()) return Fail(after.status(), "gc (listing)");
    for (const auto& key : before) {
      if (!after->count(key)) std::printf("deleted %s\n", key.c_str());
    }
  }
  auto line = [](const char* name, uint64_t v) {
    std::printf("%-22s %llu\n", name, static_cast<unsigned long long>(v));
  };
  line("manifests_deleted", stats.gc_manifests_deleted);
  line("ssts_deleted", stats.gc_ssts_deleted);
  line("wal_objects_deleted", stats.gc_wal_objects_deleted);
  line("bytes_reclaimed", stats.gc_bytes_reclaimed);
  if (!s.ok()) return Fail(s, "gc");
  return CloseDb(db.get());
}

void AddScanOptions(CLI::App* app, ScanArgs* args) {
  app->add_option("--prefix", args->prefix, "Only keys starting with this prefix");
  app->add_option("--start", args->start, "First key (inclusive)");
  app->add_option("--end", args->end, "Last key (exclusive)");
  app->add_option("--limit", args->limit, "At most this many entries (0 = all)");
  app->add_flag("--reverse", args->reverse, "Descending key order");
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "cloudkv: a key-value store whose durable state lives in an object store.\n"
      "URLs: file:///abs/path, file://./relative, s3://bucket/prefix, memory://name"};
  app.require_subcommand(1);
  std::string url, key, value, file, format = "tsv";
  ScanArgs scan_args;
  int rc = 0;

  auto* put = app.add_subcommand("put", "Store VALUE under KEY (opens the database as writer)");
  put->add_option("url", url, "Database URL")->required();
  put->add_option("key", key, "Key")->required();
  put->add_option("value", value, "Value")->required();
  put->callback([&] {
    auto db = OpenOrDie(url, false, true);
    Status s = db->Put(WriteOptions(), key, value);
    rc = s.ok() ? CloseDb(db.get()) : Fail(s, "put");
  });

  auto* get = app.add_subcommand("get", "Print the value of KEY (exit 1 if absent)");
  get->add_option("url", url, "Database URL")->required();
  get->add_option("key", key, "Key")->required();
  get->callback([&] {
    auto db = OpenOrDie(url, true, false);
    auto got = db->Get(ReadOptions(), key);
    if (got.ok()) {
      std::cout << *got << "\n";
      rc = CloseDb(db.get());
    } else if (got.status().IsNotFound()) {
      std::cerr << "cloudkv: key not found: " << key << "\n";
      (void)db->Close();
      rc = 1;
    } else {
      rc = Fail(got.status(), "get");
    }
  });

  auto* del = app.add_subcommand("del", "Delete KEY (opens the database as writer)");
  del->add_option("url", url, "Database URL")->required();
  del->add_option("key", key, "Key")->required();
  del->callback([&] {
    auto db = OpenOrDie(url, false, true);
    Status s = db->Delete(WriteOptions(), key);
    rc = s.ok() ? CloseDb(db.get()) : Fail(s, "del");
  });

  auto* scan = app.add_subcommand("scan", "Print key<TAB>value lines in key order");
  scan->add_option("url", url, "Database URL")->required();
  AddScanOptions(scan, &scan_args);
  scan->callback([&] {
    auto db = OpenOrDie(url, true, false);
    Status s = Scan(db.get(), scan_args, [](std::string_view k, std::string_view v) {
      std::cout << EscapeTsv(k) << '\t' << EscapeTsv(v) << '\n';
    });
    rc = s.ok() ? CloseDb(db.get()) : Fail(s, "scan");
  });

  auto* load = app.add_subcommand("load", "Load records from FILE ('-' = stdin)");
  load->add_option("url", url, "Database URL")->required();
  load->add_option("file", file, "Input file")->required();
  load->add_option("--format", format, "tsv or json (JSON lines)")
      ->check(CLI::IsMember({"tsv", "json"}));
  bool flush = false;
  load->add_flag("--flush", flush,
                 "Write the loaded records to an SST before exiting (else they stay in the WAL "
                 "until the memtable fills)");
  load->callback([&] { rc = Load(url, file, format, flush); });

  auto* dump = app.add_subcommand("dump", "Write every record to FILE (default stdout)");
  dump->add_option("url", url, "Database URL")->required();
  dump->add_option("file", file, "Output file");
  dump->add_option("--format", format, "tsv or json (JSON lines)")
      ->check(CLI::IsMember({"tsv", "json"}));
  AddScanOptions(dump, &scan_args);
  dump->callback([&] { rc = Dump(url, file, format, scan_args); });

  auto* stats = app.add_subcommand("stats", "Print engine statistics");
  stats->add_option("url", url, "Database URL")->required();
  stats->callback([&] { rc = Stats(url); });

  bool gc_list = false;
  auto* gc = app.add_subcommand("gc", "Delete objects no retained manifest needs (one GC pass)");
  gc->add_option("url", url, "Database URL")->required();
  gc->add_flag("--list", gc_list, "Also print each deleted object key (LISTs before and after)");
  gc->callback([&] { rc = Gc(url, gc_list); });

  AddInspectCommands(&app, &rc);
  AddVerifyCommand(&app, &rc);

  server::ServerConfig config;
  size_t max_value_bytes = 0;
  size_t max_bulk = config.resp.max_bulk_bytes;
  auto* serve = app.add_subcommand("serve", "Serve the database over the Redis protocol");
  serve->add_option("--db", config.db_url, "Database URL")->required();
  serve->add_option("--bind", config.bind, "Address to listen on")->capture_default_str();
  serve->add_option("--port", config.port, "TCP port (0 = any free port)")->capture_default_str();
  serve->add_option("--requirepass", config.requirepass,
                    "Password clients must AUTH with (required to bind beyond loopback)");
  serve->add_flag("--read-only", config.read_only, "Open read-only; refuse writes");
  serve->add_option("--metrics-port", config.metrics_port,
                    "Serve Prometheus metrics on this port (0 = off)");
  serve->add_option("--threads", config.threads, "I/O threads")->capture_default_str();
  serve->add_option("--maxclients", config.max_clients, "Most clients")->capture_default_str();
  serve->add_option("--timeout", config.idle_timeout_s,
                    "Close clients idle this many seconds (0 = never)");
  serve->add_option("--proto-max-bulk-len", max_bulk, "Largest bulk string")->capture_default_str();
  serve
      ->add_option("--max-multibulk", config.resp.max_multibulk_count, "Most arguments per command")
      ->capture_default_str();
  serve
      ->add_option("--client-query-buffer-limit", config.max_query_buffer_bytes,
                   "Largest unparsed input per client")
      ->capture_default_str();
  serve->add_option("--max-value-bytes", max_value_bytes, "Largest value the engine accepts");
  serve->add_option("--block-cache-bytes", config.block_cache_bytes,
                    "Engine block cache (uncompressed blocks in memory; 0 = engine default)");
  std::string on_fenced = "exit";
  serve
      ->add_option("--on-fenced", on_fenced,
                   "When another writer takes the database over: exit (code 3) or read-only "
                   "(reopen read-only and keep serving reads)")
      ->check(CLI::IsMember({"exit", "read-only"}))
      ->capture_default_str();
  serve->add_option("--wal-flush-interval-ms", config.wal_flush_interval_ms,
                    "Upload buffered writes at least this often (engine default 100)");
  serve->add_option("--max-wal-puts-per-second", config.max_wal_puts_per_second,
                    "Cap on WAL PUTs per second; 0 = no cap (engine default: 10 on s3://, no "
                    "cap on file://). A durable write waits for a WAL PUT: on S3 the cap makes "
                    "writes wait ~100 ms and bounds the PUT bill");
  serve->add_option("--wal-max-bytes", config.wal_max_bytes,
                    "Upload the WAL buffer when it reaches this size (engine default 4 MiB)");
  serve->add_option("--epoch-check-interval-ms", config.epoch_check_interval_ms,
                    "How often the writer confirms it still owns the database (engine default "
                    "5000); a fence is noticed within this time even without traffic");
  serve->callback([&] {
    config.on_fenced = on_fenced == "exit" ? server::OnFenced::kExit : server::OnFenced::kReadOnly;
    config.resp.max_bulk_bytes = max_bulk;
    rc = server::RunServe(config, max_value_bytes, std::cerr);
  });

  CLI11_PARSE(app, argc, argv);
  return rc;
}

}  // namespace cloudkv::cli
