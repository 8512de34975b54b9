// SPDX-License-Identifier: Apache-2.0
// Session: the state of one client connection that commands read and change: who the client is
// (CLIENT, HELLO), whether it is authenticated (AUTH, HELLO), the protocol it speaks (HELLO),
// the commands it queued since MULTI (EXEC runs them) and the keys it WATCHes. The connection
// owns it and passes it to every command in CommandContext; the connection-state commands
// (commands_connection.cc, commands_transaction.cc) are the ones that change it.
//
// Thread-safety: used only on its connection's thread.
#ifndef CLOUDKV_SERVER_SESSION_H_
#define CLOUDKV_SERVER_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/watch_registry.h"

namespace cloudkv::server {

struct CommandSpec;

// A command queued inside MULTI. Its spec was looked up and its arity checked when queued.
struct QueuedCommand {
  const CommandSpec* spec;
  std::vector<std::string> args;
};

struct Session {
  uint64_t id = 0;
  std::string name;  // CLIENT SETNAME
  std::string addr;  // the peer, "ip:port"
  int protocol = 2;  // RESP2 or RESP3 (HELLO)
  bool authed = false;

  // MULTI: the commands queued for EXEC. `multi_dirty`: one was refused at queue time (unknown,
  // wrong arity, ...), so EXEC fails with EXECABORT.
  bool in_multi = false;
  bool multi_dirty = false;
  std::vector<QueuedCommand> queued;
  size_t queued_bytes = 0;  // arguments of `queued`, for ServerConfig::max_multi_bytes
  // Failed AUTH / HELLO AUTH attempts on this connection: the connection pauses after each.
  uint64_t auth_failures = 0;
  // WATCH: each watched key with its WatchRegistry version at WATCH time.
  std::vector<std::pair<std::string, uint64_t>> watched;

  // Blocking commands (BLPOP, ...): `may_block` is set by the connection while it runs one
  // outside MULTI; a handler that finds nothing to serve then sets `block` instead of
  // replying, and the connection parks the client (blocking.h). Inside MULTI (may_block
  // false) the handler replies as on a timeout.
  struct BlockRequest {
    std::vector<std::string> keys;
    uint64_t timeout_ms = 0;  // 0 = forever
    uint8_t mode = 0;         // BlockingRegistry::Mode
  };
  bool may_block = false;
  std::optional<BlockRequest> block;
  // While EXEC runs its queue: pushes note their keys here and EXEC serves blocked clients
  // after the whole transaction, as Redis does.
  bool in_exec = false;
  std::vector<std::string> serve_after_exec;

  // Set by QUIT and SHUTDOWN: the connection takes no more commands and closes once the
  // replies it owes are written.
  bool close_requested = false;

  // Leaves MULTI, forgetting the queue.
  void EndMulti() {
    in_multi = false;
    multi_dirty = false;
    queued.clear();
    queued_bytes = 0;
  }
  // Forgets every WATCH of this session.
  void Unwatch(WatchRegistry* watches) {
    for (const auto& [key, version] : watched) watches->Unwatch(key);
    watched.clear();
  }
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_SESSION_H_
