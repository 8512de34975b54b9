// SPDX-License-Identifier: Apache-2.0
// Shell completion for `cloudkv`, generated from the CLI11 command definitions, so a new
// command or option completes without editing a script.
#ifndef CLOUDKV_CLI_COMPLETION_H_
#define CLOUDKV_CLI_COMPLETION_H_

#include <CLI/CLI.hpp>
#include <string>

namespace cloudkv::cli {

// A completion script for `shell` ("bash" or "zsh"): commands, nested commands (inspect
// manifest|sst|wal) and each command's options; files for the other arguments.
std::string CompletionScript(const CLI::App& app, const std::string& shell);

}  // namespace cloudkv::cli

#endif  // CLOUDKV_CLI_COMPLETION_H_
