// SPDX-License-Identifier: Apache-2.0
// Entry point of the `cloudkv` binary (target cloudkv-cli).
#include "cli/cli.h"

int main(int argc, char** argv) { return cloudkv::cli::Main(argc, argv); }
