// SPDX-License-Identifier: Apache-2.0
// `cloudkv inspect manifest|sst|wal` and `cloudkv verify` (docs/cli.md): the command-line face of
// cloudkv/tools.h. They read a database's objects directly and never write, so they are safe
// beside a live writer.
#ifndef CLOUDKV_CLI_INSPECT_H_
#define CLOUDKV_CLI_INSPECT_H_

namespace CLI {
class App;
}

namespace cloudkv::cli {

// Registers the subcommands on `app`; each stores its exit code in *rc when it runs (0 = OK,
// 1 = the database has a problem or the object is damaged, 2 = bad usage or unreachable).
void AddInspectCommands(CLI::App* app, int* rc);
void AddVerifyCommand(CLI::App* app, int* rc);

}  // namespace cloudkv::cli

#endif  // CLOUDKV_CLI_INSPECT_H_
