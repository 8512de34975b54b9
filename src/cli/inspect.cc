// SPDX-License-Identifier: Apache-2.0
// `cloudkv inspect` and `cloudkv verify`: argument parsing and output around cloudkv/tools.h.
// A document is printed only once complete, so a failure prints nothing on stdout and a
// message on stderr.
#include "cli/inspect.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cloudkv/tools.h"

namespace cloudkv::cli {
namespace {

constexpr int kExitDamaged = 1;
constexpr int kExitUnusable = 2;

// Prints a tool's document, or its error with the exit code it deserves: 1 when the object is
// damaged (or, for `not_found_is_damage`, absent), 2 when it could not be read.
int Emit(const Result<std::string>& doc, bool not_found_is_damage = false) {
  if (!doc.ok()) {
    const Status& s = doc.status();
    std::cerr << "cloudkv: " << s.ToString() << "\n";
    const bool damaged =
        s.IsCorruption() || s.IsNotSupported() || (not_found_is_damage && s.IsNotFound());
    return damaged ? kExitDamaged : kExitUnusable;
  }
  std::cout << *doc;
  std::cout.flush();
  return std::cout ? 0 : kExitUnusable;
}

int Verify(const std::string& url, bool all_manifests, bool json) {
  tools::VerifyOptions options;
  options.all_manifests = all_manifests;
  auto report = tools::Verify(url, options);
  if (!report.ok()) {
    std::cerr << "cloudkv: " << report.status().ToString() << "\n";
    return kExitUnusable;
  }
  for (const auto& p : report->problems) {
    std::cerr << "cloudkv verify: " << p.object_key << ": " << p.what << "\n";
  }
  std::cout << (json ? report->json : report->summary);
  std::cout.flush();
  if (!report->examined) return kExitUnusable;
  return report->problems.empty() ? 0 : kExitDamaged;
}

}  // namespace

void AddInspectCommands(CLI::App* app, int* rc) {
  auto* inspect = app->add_subcommand("inspect", "Print one object of a database as JSON");
  inspect->require_subcommand(1);
  // The parsed arguments live as long as the callbacks that read them.
  struct Args {
    std::string url, object, id;
    uint64_t version = 0, entries = 0;
    bool list = false, values = false;
  };
  auto args = std::make_shared<Args>();

  auto* manifest = inspect->add_subcommand(
      "manifest", "The latest manifest (or --version N), or the list of versions (--list)");
  manifest->add_option("url", args->url, "Database URL (or an absolute path)")
      ->required()
      ->transform([](std::string value) { return NormalizeUrl(value); });
  auto* version_opt = manifest->add_option("--version", args->version, "Manifest version");
  manifest->add_flag("--list", args->list, "List the stored manifest versions instead")
      ->excludes(version_opt);
  manifest->callback([rc, args, version_opt] {
    if (args->list) {
      *rc = Emit(tools::ListManifests(args->url));
      return;
    }
    std::optional<uint64_t> version;
    if (version_opt->count() > 0) version = args->version;
    *rc = Emit(tools::InspectManifest(args->url, version), /*not_found_is_damage=*/true);
  });

  auto* sst = inspect->add_subcommand(
      "sst", "An SST's footer, properties, index summary, filter and first entries");
  sst->add_option("url", args->url, "Database URL (or an absolute path)")
      ->required()
      ->transform([](std::string value) { return NormalizeUrl(value); });
  sst->add_option("object_key", args->object, "SST object key (sst/<name>.sst or <name>.sst)")
      ->required();
  sst->add_option("--entries", args->entries, "Also print the first N entries (0 = none)");
  sst->callback(
      [rc, args] { *rc = Emit(tools::InspectSst(args->url, args->object, args->entries)); });

  auto* wal = inspect->add_subcommand("wal", "A WAL object: header and every batch, or a fence");
  wal->add_option("url", args->url, "Database URL (or an absolute path)")
      ->required()
      ->transform([](std::string value) { return NormalizeUrl(value); });
  wal->add_option("id", args->id, "WAL id (a number) or object key (wal/<20 digits>.wal)")
      ->required();
  wal->add_flag("--values", args->values, "Also print the values (escaped), not only sizes");
  wal->callback([rc, args] { *rc = Emit(tools::InspectWal(args->url, args->id, args->values)); });
}

void AddVerifyCommand(CLI::App* app, int* rc) {
  struct Args {
    std::string url;
    bool all_manifests = false, json = false;
  };
  auto args = std::make_shared<Args>();
  auto* verify = app->add_subcommand(
      "verify",
      "Check that every object the database needs exists and passes its checksums (read-only; "
      "exit 1 if any problem)");
  verify->add_option("url", args->url, "Database URL (or an absolute path)")
      ->required()
      ->transform([](std::string value) { return NormalizeUrl(value); });
  verify->add_flag("--all-manifests", args->all_manifests,
                   "Also read and check every stored manifest version, not only the latest");
  verify->add_flag("--json", args->json, "Print the report as JSON");
  verify->callback([rc, args] { *rc = Verify(args->url, args->all_manifests, args->json); });
}

}  // namespace cloudkv::cli
