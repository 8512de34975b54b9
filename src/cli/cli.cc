// SPDX-License-Identifier: Apache-2.0
// `cloudkv` command line: argument parsing, help, completion. The commands themselves are in
// data_commands.cc, stats_gc.cc, inspect.cc and (serve) src/server. Exit codes: 0 success, 1
// the command failed, 2 a usage error (inspect/verify: 1 damaged, 2 unreadable; serve: 3
// fenced).
#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/inspect.h"
#include "cli/time_travel_commands.h"
#include "cloudkv/db.h"
#include "server/server.h"

#ifndef CLOUDKV_VERSION
#define CLOUDKV_VERSION "unknown"
#endif

namespace cloudkv::cli {
namespace {

// Adds the database URL argument; a bare absolute path is taken as file://PATH.
void AddUrl(CLI::App* app, std::string* url) {
  app->add_option("url", *url,
                  "Database URL: file:///abs/path (or just /abs/path), file://./relative, "
                  "s3://bucket/prefix, memory://name")
      ->required()
      ->transform([](std::string value) { return NormalizeUrl(value); });
}

void AddCreate(CLI::App* app, bool* create) {
  app->add_flag("--create", *create,
                "Create the database even if the location already holds other files or objects "
                "(an empty or missing location needs no flag)");
}

void AddScanOptions(CLI::App* app, ScanArgs* args) {
  app->add_option("--prefix", args->prefix, "Only keys starting with this prefix");
  app->add_option("--start", args->start, "First key (inclusive)");
  app->add_option("--end", args->end, "Last key (exclusive)");
  app->add_option("--limit", args->limit, "At most this many entries (0 = all)");
  app->add_flag("--reverse", args->reverse, "Descending key order");
}

// The server password: --requirepass, else the first line of --requirepass-file, else the
// CLOUDKV_REQUIREPASS environment variable (both keep it out of `ps`). Errors name the
// problem (both flags given, an unreadable or empty file).
Result<std::string> ResolvePassword(const std::string& flag, const std::string& file) {
  if (!flag.empty() && !file.empty()) {
    return Status::InvalidArgument("give --requirepass or --requirepass-file, not both");
  }
  if (!flag.empty()) return flag;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::InvalidArgument("cannot read --requirepass-file '" + file + "'");
    std::string password;
    std::getline(in, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) {
      return Status::InvalidArgument("--requirepass-file '" + file +
                                     "' is empty (the password is its first line)");
    }
    return password;
  }
  const char* env = std::getenv("CLOUDKV_REQUIREPASS");
  return std::string(env != nullptr ? env : "");
}

std::string Example(std::initializer_list<const char*> lines) {
  std::string out = "\nExample:";
  for (const char* line : lines) out += std::string("\n  ") + line;
  return out;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "cloudkv: a key-value store whose durable state lives in an object store.\n"
      "URLs: file:///abs/path (or /abs/path), file://./relative, s3://bucket/prefix, "
      "memory://name"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("cloudkv ") + CLOUDKV_VERSION);
  app.footer(
      "Run 'cloudkv help COMMAND' or 'cloudkv COMMAND --help' for a command's options and an "
      "example.\nExit codes: 0 success, 1 failure, 2 usage error.");
  std::string url, key, value, file, format = "tsv";
  OpenArgs open;
  ScanArgs scan_args;
  bool json = false, redis = false;
  int rc = 0;

  auto* put = app.add_subcommand("put", "Store VALUE under KEY (opens the database as writer)");
  AddUrl(put, &open.url);
  put->add_option("key", key, "Key")->required();
  put->add_option("value", value, "Value")->required();
  AddCreate(put, &open.create);
  put->footer(Example({"cloudkv put file:///tmp/db apple red"}));
  put->callback([&] { rc = Put(open, key, value); });

  auto* get = app.add_subcommand("get", "Print the value of KEY (exit 1 if absent)");
  AddUrl(get, &url);
  get->add_option("key", key, "Key")->required();
  get->add_flag("--redis", redis,
                "KEY is a Redis key written through `cloudkv serve`: print its type and value "
                "(a hash: one line per field)");
  get->add_flag("--json", json, "Print a JSON object");
  std::string checkpoint_name;
  auto as_of_option = [&](CLI::App* cmd, std::string* as_of) {
    cmd->add_option("--as-of", *as_of,
                    "Read the database as it was at POINT: a time (2026-11-23T20:15:03.120Z, "
                    "Unix milliseconds, -10m), seq:N, or checkpoint:NAME");
    cmd->add_option("--checkpoint", checkpoint_name, "Read the checkpoint NAME")
        ->each([as_of](const std::string& name) { *as_of = "checkpoint:" + name; });
  };
  std::string get_as_of;
  as_of_option(get, &get_as_of);
  get->footer(
      Example({"cloudkv get file:///tmp/db apple", "cloudkv get /var/lib/db user:1 --redis"}));
  get->callback([&] { rc = Get(url, key, redis, json, get_as_of); });

  auto* del = app.add_subcommand("del", "Delete KEY (opens the database as writer)");
  AddUrl(del, &open.url);
  del->add_option("key", key, "Key")->required();
  AddCreate(del, &open.create);
  del->footer(Example({"cloudkv del file:///tmp/db apple"}));
  del->callback([&] { rc = Del(open, key); });

  auto* scan = app.add_subcommand("scan", "Print key<TAB>value lines in key order");
  AddUrl(scan, &url);
  AddScanOptions(scan, &scan_args);
  scan->add_flag("--json", scan_args.json, "JSON lines: {\"key\": ..., \"value\": ...}");
  as_of_option(scan, &scan_args.as_of);
  scan->add_flag("--redis", scan_args.redis,
                 "Decode what `cloudkv serve` wrote: key<TAB>string<TAB>value, or "
                 "key<TAB>hash<TAB>field<TAB>value per field (bounds apply to Redis keys)");
  scan->footer(Example({"cloudkv scan file:///tmp/db --prefix c --limit 10",
                        "cloudkv scan /var/lib/db --redis --json"}));
  scan->callback([&] { rc = ScanCommand(url, scan_args); });

  auto* load = app.add_subcommand("load", "Load records from FILE ('-' = stdin)");
  AddUrl(load, &open.url);
  load->add_option("file", file, "Input file, or - for stdin")->required();
  auto* format_option = load->add_option("--format", format, "tsv or json (JSON lines)")
                            ->check(CLI::IsMember({"tsv", "json"}));
  bool flush = false;
  load->add_flag("--flush", flush,
                 "Write the loaded records to an SST before exiting (else they stay in the WAL "
                 "until the memtable fills)");
  AddCreate(load, &open.create);
  load->footer(Example({"printf 'cherry\\tdark red\\n' | cloudkv load file:///tmp/db - --flush",
                        "cloudkv load file:///tmp/db records.jsonl --format json"}));
  load->callback([&] { rc = Load(open, file, format, format_option->count() > 0, flush); });

  auto* dump = app.add_subcommand("dump", "Write every record to FILE (default stdout)");
  AddUrl(dump, &url);
  dump->add_option("file", file, "Output file");
  dump->add_option("--format", format, "tsv or json (JSON lines)")
      ->check(CLI::IsMember({"tsv", "json"}));
  AddScanOptions(dump, &scan_args);
  dump->footer(Example({"cloudkv dump file:///tmp/db backup.tsv"}));
  dump->callback([&] { rc = Dump(url, file, format, scan_args); });

  auto* stats = app.add_subcommand("stats", "Print engine statistics");
  AddUrl(stats, &url);
  stats->add_flag("--json", json, "Print a JSON object");
  stats->footer(Example({"cloudkv stats file:///tmp/db --json"}));
  stats->callback([&] { rc = Stats(url, json); });

  bool gc_list = false;
  auto* gc = app.add_subcommand("gc", "Delete objects no retained manifest needs (one GC pass)");
  AddUrl(gc, &url);
  gc->add_flag("--list", gc_list, "Also print each deleted object key");
  gc->add_flag("--json", json, "Print a JSON object (with the deleted keys)");
  gc->footer(Example({"cloudkv gc file:///tmp/db --list"}));
  gc->callback([&] { rc = Gc(url, gc_list, json); });

  AddInspectCommands(&app, &rc);
  AddVerifyCommand(&app, &rc);
  AddTimeTravelCommands(&app, &rc);

  server::ServerConfig config;
  size_t max_value_bytes = 0;
  size_t max_bulk = config.resp.max_bulk_bytes;
  auto* serve = app.add_subcommand("serve", "Serve the database over the Redis protocol");
  serve->add_option("--db", config.db_url, "Database URL (or an absolute path)")
      ->required()
      ->transform([](std::string value) { return NormalizeUrl(value); });
  serve->add_option("--bind", config.bind, "Address to listen on")->capture_default_str();
  serve->add_option("--port", config.port, "TCP port (0 = any free port)")->capture_default_str();
  std::string requirepass, requirepass_file;
  serve->add_option("--requirepass", requirepass,
                    "Password clients must AUTH with (required to bind beyond loopback; "
                    "visible in ps: prefer --requirepass-file or CLOUDKV_REQUIREPASS)");
  serve->add_option("--requirepass-file", requirepass_file,
                    "Read the password from the first line of this file");
  serve->add_flag("--read-only", config.read_only, "Open read-only; refuse writes");
  serve->add_option("--metrics-port", config.metrics_port,
                    "Serve Prometheus metrics on this port (0 = off)");
  serve
      ->add_option("--metrics-bind", config.metrics_bind,
                   "Address of the metrics endpoint (it has no authentication)")
      ->capture_default_str();
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
  serve
      ->add_option("--client-output-buffer-limit", config.max_output_buffer_hard_bytes,
                   "Disconnect a client whose queued replies exceed this many bytes")
      ->capture_default_str();
  serve
      ->add_option("--auth-timeout", config.auth_timeout_s,
                   "Close clients not authenticated after this many seconds (0 = never)")
      ->capture_default_str();
  serve
      ->add_option("--write-timeout", config.write_timeout_s,
                   "Close clients that read none of a pending reply for this many seconds "
                   "(0 = never)")
      ->capture_default_str();
  serve
      ->add_option("--max-multi-bytes", config.max_multi_bytes,
                   "Most bytes of arguments queued in MULTI (also bounded by "
                   "--client-query-buffer-limit)")
      ->capture_default_str();
  serve
      ->add_option("--reserved-fds", config.reserved_fds,
                   "File descriptors kept for the engine (beyond those open at start) when "
                   "maxclients is fitted to the open-file limit")
      ->capture_default_str();
  serve->add_option("--block-cache-bytes", config.block_cache_bytes,
                    "Engine block cache (uncompressed blocks in memory; 0 = engine default)");
  serve->add_option("--disk-cache-dir", config.disk_cache_dir,
                    "Keep SST parts read from the store in this local directory (survives "
                    "restarts; several servers may share it)");
  serve->add_option("--disk-cache-bytes", config.disk_cache_bytes,
                    "Bound of the disk cache (engine default 1 GiB)");
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
  serve->add_flag("--create", config.create_in_non_empty_location,
                  "Create the database even if the location already holds other files");
  serve->footer(Example({"cloudkv serve --db file://./data --port 6379 --metrics-port 9121",
                         "redis-cli -p 6379 set greeting hello"}));
  serve->callback([&] {
    config.on_fenced = on_fenced == "exit" ? server::OnFenced::kExit : server::OnFenced::kReadOnly;
    config.resp.max_bulk_bytes = max_bulk;
    Result<std::string> password = ResolvePassword(requirepass, requirepass_file);
    if (!password.ok()) {
      std::cerr << "cloudkv serve: " << password.status().ToString() << "\n";
      rc = 2;
      return;
    }
    config.requirepass = std::move(password).value();
    rc = server::RunServe(config, max_value_bytes, std::cerr);
  });

  auto* help = app.add_subcommand("help", "Show the help of a command (or of cloudkv)");
  std::string help_command;
  help->add_option("command", help_command, "Command");
  help->footer(Example({"cloudkv help scan"}));
  help->callback([&] {
    if (help_command.empty()) {
      std::cout << app.help();
      return;
    }
    for (CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == help_command) {
        std::cout << sub->help();
        return;
      }
    }
    std::cerr << "cloudkv: help: unknown command '" << help_command << "'\n";
    rc = kExitUsage;
  });

  auto* completion = app.add_subcommand(
      "completion", "Print a shell completion script (bash or zsh) for cloudkv's commands");
  std::string shell;
  completion->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  completion->footer(
      Example({"source <(cloudkv completion bash)", "cloudkv completion zsh > ~/.zfunc/_cloudkv"}));
  completion->callback([&] { std::cout << CompletionScript(app, shell); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return rc;
}

}  // namespace cloudkv::cli
