// SPDX-License-Identifier: Apache-2.0
// Child processes for tests: a test program starts itself again as a named child (a writer to
// kill, a zombie to fence, a client to race) and talks to it over two pipes.
//
// A child entry point is not a test. It is registered with CLOUDKV_CHILD_MAIN and run by the
// test programs' main (tests/support/test_main.cc) before GoogleTest sees argv, so listing the
// tests (gtest_discover_tests, --gtest_list_tests) never shows it and ctest never skips it.
//
//   CLOUDKV_CHILD_MAIN(writer) {                      // int (const std::vector<std::string>& args)
//     auto db = DB::Open(args.at(0), Options());
//     ChildCheckOk(db.status(), "open");
//     WriteLineToParent("ready");
//     ...
//     return 0;                                      // the child's exit code
//   }
//
//   TEST(Crash, Something) {
//     Result<ChildProcess> child = ChildProcess::Spawn("writer", {.args = {url}});
//     ASSERT_TRUE(child.ok()) << child.status().ToString();
//     ASSERT_EQ(child->ReadLine(), "ready");
//     child->Kill();
//     EXPECT_EQ(child->Wait(), 128 + SIGKILL);
//   }
//
// The child's stdin is a pipe from the parent (ChildProcess::WriteLine, ReadLineFromParent) and
// its stdout a pipe to the parent (WriteLineToParent, ChildProcess::ReadLine), so a child must
// print nothing else to stdout. Its stderr is the parent's, so its diagnostics reach the test
// log. The child inherits the parent's environment, plus ChildOptions::env.
//
// Thread-safety: a ChildProcess is used by one thread at a time. WriteLineToParent may be called
// from several threads of a child at once.
#ifndef CLOUDKV_TESTS_SUPPORT_CHILD_PROCESS_H_
#define CLOUDKV_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/status.h"

namespace cloudkv {

// --- In the parent. ---

struct ChildOptions {
  // The child's arguments (its entry point's `args`).
  std::vector<std::string> args;
  // Variables added to (or replacing those of) the parent's environment.
  std::map<std::string, std::string> env;
};

// A running (or ended) child. Destroying it kills the child if it was not waited for, so a
// failed assertion never leaves a process behind. Movable, not copyable.
class ChildProcess {
 public:
  // The longest line ReadLine accepts; a longer one ends the output (and is reported on
  // stderr), so a child that never writes a newline cannot grow the parent's memory forever.
  static constexpr size_t kMaxLineBytes = size_t{1} << 20;

  // Starts this test program as the child registered under `name`. Returns IOError if the pipes
  // or the process cannot be made. A name that no CLOUDKV_CHILD_MAIN registered is not an error
  // here: the child prints the registered names and exits with code 2.
  static Result<ChildProcess> Spawn(std::string_view name, const ChildOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }

  // The next whole line the child wrote to stdout, without its '\n'; blocks until there is one.
  // nullopt once its output has ended (it exited, was killed, or closed stdout); a last line the
  // child did not finish with '\n' is not returned.
  std::optional<std::string> ReadLine();
  // As ReadLine, but also nullopt once `deadline` passes; output_ended() tells the two apart.
  std::optional<std::string> ReadLineUntil(std::chrono::steady_clock::time_point deadline);
  // Every remaining whole line, up to the end of the output. Call it after the child ends or
  // was killed, or when it ends by itself; it blocks until then.
  std::vector<std::string> ReadLinesToEnd();
  // True once ReadLine has seen the end of the child's output.
  bool output_ended() const { return output_ended_; }

  // Writes `line` and a '\n' to the child's stdin. IOError if the child has closed it (e.g.
  // exited); never raises SIGPIPE's default action in the test program (test_main ignores it).
  Status WriteLine(std::string_view line);

  // Sends SIGKILL. Does nothing once Wait has returned (the pid may have been reused).
  void Kill();

  // Closes the child's stdin (a child reading it sees its end), waits for the child to end and
  // returns its exit code, or 128 + the signal number if a signal ended it (the shell's
  // convention), or -1 if waitpid fails. Returns the same value again when called again. Read
  // what the child writes first if it may write more than a pipe holds (64 KiB).
  int Wait();

 private:
  ChildProcess(pid_t pid, int stdin_fd, int stdout_fd)
      : pid_(pid), stdin_fd_(stdin_fd), stdout_fd_(stdout_fd) {}
  // Moves a whole line from buffer_ to *line; false if buffer_ holds none.
  bool TakeLine(std::string* line);
  // Kills and reaps the child unless it was waited for, and closes the pipes.
  void Release();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;   // write end of the child's stdin
  int stdout_fd_ = -1;  // read end of the child's stdout
  std::string buffer_;  // read from stdout_fd_, not yet returned as lines
  bool output_ended_ = false;
  std::optional<int> exit_code_;  // set by Wait
};

// --- In the child. ---

// What an entry point receives and returns: ChildOptions::args, and the exit code.
using ChildMain = int (*)(const std::vector<std::string>& args);

// Writes `line` and a '\n' to the parent (the child's stdout) in one write(2), so lines from
// concurrent threads never interleave when shorter than PIPE_BUF (4096 bytes). False if the
// parent has closed its end.
bool WriteLineToParent(std::string_view line);

// The next line the parent wrote with ChildProcess::WriteLine, without its '\n'; nullopt at the
// end of the child's stdin.
std::optional<std::string> ReadLineFromParent();

// Ends the child with kChildFailedExitCode after printing "<child name>: <what>" to stderr.
// Child code uses it (not gtest assertions, which only work inside tests). Safe while other
// threads run: it does not run destructors.
inline constexpr int kChildFailedExitCode = 70;
[[noreturn]] void ChildFail(std::string_view what);
// ChildFail(what + ": " + status) unless status is OK.
void ChildCheckOk(const Status& status, std::string_view what);

// --- Registration and dispatch. ---

// Registers `main` under `name` (letters, digits and '_'). Used by CLOUDKV_CHILD_MAIN during
// static initialization; aborts on a repeated name. Returns true.
bool RegisterChildMain(std::string_view name, ChildMain main);

// For a test program's main: if argv asks for a child, runs that child's entry point and
// returns its exit code (2 for an unknown name); otherwise nullopt, and the tests run.
std::optional<int> RunChildIfRequested(int argc, char** argv);

}  // namespace cloudkv

// Defines and registers the child entry point `name`; the body follows, as for a function
// `int (const std::vector<std::string>& args)`. Use at namespace scope, once per name per program.
#define CLOUDKV_CHILD_MAIN(name)                                            \
  static int CloudkvChildMain_##name(const std::vector<std::string>& args); \
  [[maybe_unused]] static const bool cloudkv_child_main_registered_##name = \
      ::cloudkv::RegisterChildMain(#name, &CloudkvChildMain_##name);        \
  static int CloudkvChildMain_##name([[maybe_unused]] const std::vector<std::string>& args)

#endif  // CLOUDKV_TESTS_SUPPORT_CHILD_PROCESS_H_
