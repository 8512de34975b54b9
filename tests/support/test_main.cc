// SPDX-License-Identifier: Apache-2.0
// The main of every test program (instead of GoogleTest's gtest_main): runs a child entry point
// when the program was started as one (tests/support/child_process.h), else the tests. A child
// runs before GoogleTest parses argv, so it is never a test and never listed as one.
#include <gtest/gtest.h>

#include <csignal>
#include <optional>

#include "support/child_process.h"

int main(int argc, char** argv) {
  // Writing to a pipe whose reader is gone (a killed child, or a parent that stopped reading)
  // must fail the write with EPIPE rather than end the process silently.
  std::signal(SIGPIPE, SIG_IGN);
  if (std::optional<int> exit_code = cloudkv::RunChildIfRequested(argc, argv)) return *exit_code;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
