// SPDX-License-Identifier: Apache-2.0
// Transaction commands: MULTI, EXEC, DISCARD, WATCH, UNWATCH (docs/server.md, "MULTI/EXEC"
// and "WATCH"). The connection queues the commands that arrive inside MULTI in the Session;
// EXEC runs them in one Txn under the locks of all their keys and of the watched keys
// (kCmdTransaction), so the connection commits them as one atomic batch.
#include <algorithm>
#include <cassert>

#include "server/handlers.h"

namespace cloudkv::server {

void CmdMulti(CommandContext& ctx) {
  Session& session = *ctx.session;
  if (session.in_multi) return ctx.out->Error("ERR MULTI calls can not be nested");
  session.EndMulti();
  session.in_multi = true;
  ctx.out->Simple("OK");
}

void CmdExec(CommandContext& ctx) {
  Session& session = *ctx.session;
  if (!session.in_multi) return ctx.out->Error("ERR EXEC without MULTI");
  std::vector<QueuedCommand> queued = std::move(session.queued);
  const bool dirty = session.multi_dirty;
  session.EndMulti();
  if (dirty) {
    session.Unwatch(&ctx.server->watches);
    return ctx.out->Error("EXECABORT Transaction discarded because of previous errors.");
  }
  // A valid queue: the connection holds the locks of every queued command's keys and of the
  // watched keys, and the Txn reads the newest state.
  assert(ctx.txn != nullptr);
  bool aborted = false;
  for (const auto& [key, version] : session.watched) {
    if (ctx.server->watches.Version(key) != version) aborted = true;
  }
  // Redis 7: a watched key that expired since WATCH also aborts.
  if (aborted) {
    ctx.out->NullArray();
  } else {
    ctx.out->Array(queued.size());
    session.in_exec = true;
    for (const QueuedCommand& command : queued) {
      assert(!(command.spec->flags & (kCmdTransaction | kCmdNoMulti)));
      CommandContext inner{ctx.server, ctx.session, ctx.txn, ctx.out, command.args};
      command.spec->handler(inner);
    }
    session.in_exec = false;
    // Clients blocked on keys the transaction pushed to are served after it, as in Redis.
    // Their keys are among the queued commands' keys, whose locks EXEC holds.
    std::vector<std::string> serve = std::move(session.serve_after_exec);
    session.serve_after_exec.clear();
    std::sort(serve.begin(), serve.end());
    serve.erase(std::unique(serve.begin(), serve.end()), serve.end());
    for (const std::string& key : serve) ServeBlockedClients(ctx, key);
  }
  session.Unwatch(&ctx.server->watches);
}

void CmdDiscard(CommandContext& ctx) {
  Session& session = *ctx.session;
  if (!session.in_multi) return ctx.out->Error("ERR DISCARD without MULTI");
  session.EndMulti();
  session.Unwatch(&ctx.server->watches);
  ctx.out->Simple("OK");
}

void CmdWatch(CommandContext& ctx) {
  Session& session = *ctx.session;
  if (session.in_multi) return ctx.out->Error("ERR WATCH inside MULTI is not allowed");
  for (size_t i = 1; i < ctx.args.size(); i++) {
    session.watched.emplace_back(ctx.args[i], ctx.server->watches.Watch(ctx.args[i]));
  }
  ctx.out->Simple("OK");
}

void CmdUnwatch(CommandContext& ctx) {
  ctx.session->Unwatch(&ctx.server->watches);
  ctx.out->Simple("OK");
}

}  // namespace cloudkv::server
