// SPDX-License-Identifier: Apache-2.0
// `cloudkv config get|set` and `cloudkv checkpoint create|list|delete` (docs/cli.md,
// docs/time-travel.md). Both commit to the manifest without taking the writer epoch, so they are
// safe beside a running writer (they never fence it).
#ifndef CLOUDKV_CLI_TIME_TRAVEL_COMMANDS_H_
#define CLOUDKV_CLI_TIME_TRAVEL_COMMANDS_H_

namespace CLI {
class App;
}

namespace cloudkv::cli {

// Registers the subcommands on `app`; each stores its exit code in *rc when it runs.
void AddTimeTravelCommands(CLI::App* app, int* rc);

}  // namespace cloudkv::cli

#endif  // CLOUDKV_CLI_TIME_TRAVEL_COMMANDS_H_
