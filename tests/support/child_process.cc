// SPDX-License-Identifier: Apache-2.0
#include "support/child_process.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <iostream>
#include <utility>

extern char** environ;

namespace cloudkv {
namespace {

// argv[1] of a child: "--cloudkv_child=<name>"; its arguments follow.
constexpr std::string_view kChildFlag = "--cloudkv_child=";

// Function-local statics: CLOUDKV_CHILD_MAIN registers during static initialization, in an
// order across translation units that nothing fixes.
std::map<std::string, ChildMain, std::less<>>& Registry() {
  static std::map<std::string, ChildMain, std::less<>> registry;
  return registry;
}

// The running child's name, for ChildFail's message; empty in the parent.
std::string& RunningChildName() {
  static std::string name;
  return name;
}

bool ValidChildName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// The child's environment: the parent's, with `extra` added or replacing same-named entries.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; e++) {
    std::string_view var = *e;
    std::string_view name = var.substr(0, var.find('='));
    if (extra.find(std::string(name)) == extra.end()) vars.emplace_back(var);
  }
  for (const auto& [name, value] : extra) vars.push_back(name + "=" + value);
  return vars;
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

// --- ChildProcess ---

Result<ChildProcess> ChildProcess::Spawn(std::string_view name, const ChildOptions& options) {
  assert(ValidChildName(name));
  // argv[0] names the program in the child's messages; exec goes through /proc/self/exe.
  char self[PATH_MAX];
  ssize_t self_bytes = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::vector<std::string> argv_strings = {
      self_bytes > 0 ? std::string(self, static_cast<size_t>(self_bytes)) : "/proc/self/exe",
      std::string(kChildFlag) + std::string(name)};
  argv_strings.insert(argv_strings.end(), options.args.begin(), options.args.end());
  std::vector<std::string> env_strings = ChildEnvironment(options.env);
  std::vector<char*> argv = NullTerminated(argv_strings);
  std::vector<char*> envp = NullTerminated(env_strings);

  // Close-on-exec, so no other child (spawned concurrently) inherits these ends; dup2 onto the
  // child's 0 and 1 clears the flag there.
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) {
    return Status::IOError(std::string("pipe2: ") + std::strerror(errno));
  }
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(to_child[0]);
    ::close(to_child[1]);
    return Status::IOError(std::string("pipe2: ") + std::strerror(err));
  }
  assert(to_child[0] > STDERR_FILENO && from_child[1] > STDERR_FILENO);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
  // The child starts with no signal blocked, whatever the spawning thread had blocked.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (rc != 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    return Status::IOError("posix_spawn child " + std::string(name) + ": " + std::strerror(rc));
  }
  return ChildProcess(pid, to_child[1], from_child[0]);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdin_fd_(std::exchange(other.stdin_fd_, -1)),
      stdout_fd_(std::exchange(other.stdout_fd_, -1)),
      buffer_(std::move(other.buffer_)),
      output_ended_(other.output_ended_),
      exit_code_(std::exchange(other.exit_code_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Release();
    pid_ = std::exchange(other.pid_, -1);
    stdin_fd_ = std::exchange(other.stdin_fd_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    buffer_ = std::move(other.buffer_);
    output_ended_ = other.output_ended_;
    exit_code_ = std::exchange(other.exit_code_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() { Release(); }

void ChildProcess::Release() {
  if (pid_ > 0 && !exit_code_) {
    Kill();
    (void)Wait();
  }
  CloseFd(&stdin_fd_);
  CloseFd(&stdout_fd_);
  pid_ = -1;
}

bool ChildProcess::TakeLine(std::string* line) {
  size_t newline = buffer_.find('\n');
  if (newline == std::string::npos) return false;
  line->assign(buffer_, 0, newline);
  buffer_.erase(0, newline + 1);
  return true;
}

std::optional<std::string> ChildProcess::ReadLine() {
  return ReadLineUntil(std::chrono::steady_clock::time_point::max());
}

std::optional<std::string> ChildProcess::ReadLineUntil(
    std::chrono::steady_clock::time_point deadline) {
  assert(stdout_fd_ >= 0 || output_ended_);
  std::string line;
  while (!TakeLine(&line)) {
    if (output_ended_) return std::nullopt;
    if (buffer_.size() > kMaxLineBytes) {
      std::fprintf(stderr, "child %d: a line of more than %zu bytes; its output is ignored\n",
                   static_cast<int>(pid_), kMaxLineBytes);
      output_ended_ = true;
      return std::nullopt;
    }
    int timeout_ms = -1;
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      timeout_ms = static_cast<int>(std::min<int64_t>(left.count(), INT_MAX));
    }
    pollfd pfd = {stdout_fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the deadline check above returns
    char chunk[65536];
    ssize_t n = ready < 0 ? -1 : ::read(stdout_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      output_ended_ = true;  // end of file, or an error that ends reading the same way
      continue;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  return line;
}

std::vector<std::string> ChildProcess::ReadLinesToEnd() {
  std::vector<std::string> lines;
  while (std::optional<std::string> line = ReadLine()) lines.push_back(std::move(*line));
  return lines;
}

Status ChildProcess::WriteLine(std::string_view line) {
  assert(line.find('\n') == std::string_view::npos);
  if (stdin_fd_ < 0) return Status::IOError("the child's stdin is closed");
  std::string data = std::string(line) + "\n";
  if (!WriteAll(stdin_fd_, data)) {
    return Status::IOError("write to child " + std::to_string(pid_) + ": " + std::strerror(errno));
  }
  return Status::OK();
}

void ChildProcess::Kill() {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, SIGKILL);
}

int ChildProcess::Wait() {
  assert(pid_ > 0);
  if (exit_code_) return *exit_code_;
  // A child still reading its stdin sees its end, rather than both processes waiting forever.
  CloseFd(&stdin_fd_);
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  if (r < 0) {
    exit_code_ = -1;
  } else if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_code_ = 128 + WTERMSIG(status);
  } else {
    exit_code_ = -1;
  }
  return *exit_code_;
}

// --- In the child. ---

bool WriteLineToParent(std::string_view line) {
  assert(line.find('\n') == std::string_view::npos);
  std::string data = std::string(line) + "\n";
  return WriteAll(STDOUT_FILENO, data);
}

std::optional<std::string> ReadLineFromParent() {
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  return line;
}

void ChildFail(std::string_view what) {
  const std::string& name = RunningChildName();
  std::string message = "child " + (name.empty() ? std::string("?") : name) + " (pid " +
                        std::to_string(::getpid()) + "): " + std::string(what) + "\n";
  (void)WriteAll(STDERR_FILENO, message);
  std::_Exit(kChildFailedExitCode);
}

void ChildCheckOk(const Status& status, std::string_view what) {
  if (!status.ok()) ChildFail(std::string(what) + ": " + status.ToString());
}

// --- Registration and dispatch. ---

bool RegisterChildMain(std::string_view name, ChildMain main) {
  assert(main != nullptr);
  if (!ValidChildName(name) || !Registry().emplace(std::string(name), main).second) {
    std::fprintf(stderr, "child entry point '%.*s': invalid or registered twice\n",
                 static_cast<int>(name.size()), name.data());
    std::abort();
  }
  return true;
}

std::optional<int> RunChildIfRequested(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]).substr(0, kChildFlag.size()) != kChildFlag) {
    return std::nullopt;
  }
  const std::string_view name = std::string_view(argv[1]).substr(kChildFlag.size());
  auto it = Registry().find(name);
  if (it == Registry().end()) {
    std::string known;
    for (const auto& entry : Registry()) known += " " + entry.first;
    std::fprintf(stderr, "%s: no child entry point '%.*s'; registered:%s\n", argv[0],
                 static_cast<int>(name.size()), name.data(),
                 known.empty() ? " (none)" : known.c_str());
    return 2;
  }
  RunningChildName() = std::string(name);
  const std::vector<std::string> args(argv + 2, argv + argc);
  // A missing or malformed argument (args.at, std::stoi) fails the child with a message rather
  // than std::terminate's.
  try {
    return it->second(args);
  } catch (const std::exception& e) {
    ChildFail(std::string("uncaught exception: ") + e.what());
  }
}

}  // namespace cloudkv
