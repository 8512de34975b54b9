// SPDX-License-Identifier: Apache-2.0
// `cloudkv config` and `cloudkv checkpoint` (see time_travel_commands.h).
#include "cli/time_travel_commands.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cloudkv/clock.h"
#include "cloudkv/db.h"

namespace cloudkv::cli {
namespace {

int Fail(const Status& status, std::string_view what) {
  std::cerr << "cloudkv: " << what << ": " << status.ToString() << "\n";
  return kExitFailure;
}

std::string Seconds(uint64_t micros) { return std::to_string(micros / 1'000'000) + "s"; }

int ConfigGet(const std::string& url, bool json) {
  auto settings = DB::GetSettings(url, Options());
  if (!settings.ok()) return Fail(settings.status(), "config get " + url);
  if (json) {
    std::cout << "{\"history_retention_ms\":" << settings->history_retention_micros / 1000
              << ",\"gc_min_age_ms\":" << settings->gc_min_age_micros / 1000
              << ",\"max_clock_skew_ms\":" << settings->max_clock_skew_micros / 1000 << "}\n";
  } else {
    std::cout << "history_retention\t" << Seconds(settings->history_retention_micros) << "\n"
              << "gc_min_age\t" << Seconds(settings->gc_min_age_micros) << "\n"
              << "max_clock_skew\t" << Seconds(settings->max_clock_skew_micros) << "\n";
  }
  return kExitOk;
}

int ConfigSet(const std::string& url, const std::string& name, const std::string& value) {
  if (name != "history_retention") {
    std::cerr << "cloudkv: config set: '" << name
              << "' cannot be changed (only history_retention; gc_min_age and max_clock_skew "
                 "are fixed when the database is created)\n";
    return kExitUsage;
  }
  auto micros = ReadPoint::ParseDurationMicros(value);
  if (!micros.ok()) return Fail(micros.status(), "config set history_retention");
  Status s = DB::SetHistoryRetention(url, *micros, Options());
  if (!s.ok()) return Fail(s, "config set " + url);
  std::cout << "history_retention\t" << Seconds(*micros) << "\n";
  return kExitOk;
}

// --expires: a duration from now ("7d", "12h") or a time (RFC 3339, Unix milliseconds).
Result<uint64_t> ParseExpiry(const std::string& text, uint64_t now) {
  auto duration = ReadPoint::ParseDurationMicros(text);
  const bool all_digits = text.find_first_not_of("0123456789") == std::string::npos;
  if (duration.ok() && !(all_digits && text.size() >= 10)) return now + *duration;
  auto point = ReadPoint::Parse(text, now);
  if (point.ok() && point->kind() == ReadPoint::Kind::kTime) return point->time_micros();
  return Status::InvalidArgument("--expires '" + text +
                                 "': expected a duration (7d, 12h) or a time "
                                 "(2026-11-23T20:15:03Z, Unix milliseconds)");
}

Result<std::unique_ptr<DB>> OpenReadOnly(const std::string& url) {
  Options options;
  options.read_only = true;
  options.create_if_missing = false;
  return DB::Open(url, options);
}

int CheckpointCreate(const std::string& url, const std::string& name, const std::string& expires) {
  std::optional<uint64_t> expire;
  if (!expires.empty()) {
    auto parsed = ParseExpiry(expires, SystemClock()->NowMicros());
    if (!parsed.ok()) return Fail(parsed.status(), "checkpoint create");
    expire = *parsed;
  }
  auto db = OpenReadOnly(url);
  if (!db.ok()) return Fail(db.status(), "cannot open " + url);
  auto cp = (*db)->CreateCheckpoint(name, expire);
  if (!cp.ok()) return Fail(cp.status(), "checkpoint create");
  std::cout << "checkpoint '" << cp->name << "' at sequence " << cp->sequence << " (manifest "
            << cp->manifest_version << ")";
  if (cp->expire_time_micros != 0) {
    std::cout << ", expires " << ReadPoint::FormatTime(cp->expire_time_micros);
  }
  std::cout << "\n";
  return kExitOk;
}

int CheckpointList(const std::string& url, bool json) {
  auto db = OpenReadOnly(url);
  if (!db.ok()) return Fail(db.status(), "cannot open " + url);
  auto list = (*db)->ListCheckpoints();
  if (!list.ok()) return Fail(list.status(), "checkpoint list");
  if (json) std::cout << "[";
  bool first = true;
  for (const auto& cp : *list) {
    const std::string expires =
        cp.expire_time_micros == 0 ? "never" : ReadPoint::FormatTime(cp.expire_time_micros);
    if (json) {
      std::cout << (first ? "" : ",") << "{\"name\":\"" << cp.name << "\",\"id\":\"" << cp.id
                << "\",\"sequence\":" << cp.sequence
                << ",\"manifest_version\":" << cp.manifest_version << ",\"created\":\""
                << ReadPoint::FormatTime(cp.create_time_micros) << "\",\"expires\":\"" << expires
                << "\"}";
    } else {
      std::cout << cp.name << "\tsequence " << cp.sequence << "\tcreated "
                << ReadPoint::FormatTime(cp.create_time_micros) << "\texpires " << expires << "\n";
    }
    first = false;
  }
  if (json) std::cout << "]\n";
  return kExitOk;
}

int CheckpointDelete(const std::string& url, const std::string& name) {
  auto db = OpenReadOnly(url);
  if (!db.ok()) return Fail(db.status(), "cannot open " + url);
  Status s = (*db)->DeleteCheckpoint(name);
  if (!s.ok()) return Fail(s, "checkpoint delete");
  std::cout << "deleted checkpoint '" << name << "'\n";
  return kExitOk;
}

}  // namespace

void AddTimeTravelCommands(CLI::App* app, int* rc) {
  struct Args {
    std::string url, name, value, expires;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto add_url = [args](CLI::App* cmd) {
    cmd->add_option("url", args->url, "Database URL (or an absolute path)")
        ->required()
        ->transform([](std::string value) { return NormalizeUrl(value); });
  };

  auto* config = app->add_subcommand("config",
                                     "Show or change the settings stored in the "
                                     "database (honoured by every process)");
  config->require_subcommand(1);
  auto* get = config->add_subcommand("get", "Print the database's settings");
  add_url(get);
  get->add_flag("--json", args->json, "Print a JSON object");
  get->callback([rc, args] { *rc = ConfigGet(args->url, args->json); });
  auto* set = config->add_subcommand("set", "Change a setting (only history_retention)");
  add_url(set);
  set->add_option("name", args->name, "Setting: history_retention")->required();
  set->add_option("value", args->value, "A duration: 24h, 6h, 30m, 7d")->required();
  set->footer("\nExample:\n  cloudkv config set s3://bucket/db history_retention 6h\n");
  set->callback([rc, args] { *rc = ConfigSet(args->url, args->name, args->value); });

  auto* checkpoint = app->add_subcommand("checkpoint", "Create, list or delete named checkpoints");
  checkpoint->require_subcommand(1);
  auto* create = checkpoint->add_subcommand(
      "create", "Pin the current state (every durable write) beyond the history window");
  add_url(create);
  create->add_option("--name", args->name, "Checkpoint name (A-Z a-z 0-9 . _ -)")->required();
  create->add_option("--expires", args->expires,
                     "Release the pin after a duration (7d) or at a time (RFC 3339, Unix ms)");
  create->footer(
      "\nExample:\n  cloudkv checkpoint create file:///tmp/db --name before-migration "
      "--expires 30d\n");
  create->callback([rc, args] { *rc = CheckpointCreate(args->url, args->name, args->expires); });
  auto* list = checkpoint->add_subcommand("list", "List the live checkpoints");
  add_url(list);
  list->add_flag("--json", args->json, "Print a JSON array");
  list->callback([rc, args] { *rc = CheckpointList(args->url, args->json); });
  auto* del = checkpoint->add_subcommand("delete", "Delete a checkpoint (GC may then reclaim)");
  add_url(del);
  del->add_option("--name", args->name, "Checkpoint name")->required();
  del->callback([rc, args] { *rc = CheckpointDelete(args->url, args->name); });
}

}  // namespace cloudkv::cli
