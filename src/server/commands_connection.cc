// SPDX-License-Identifier: Apache-2.0
// Connection-state commands: HELLO, AUTH, SELECT, QUIT, SHUTDOWN, RESET, CLIENT. They read and
// change only the connection's Session (kCmdSession: no Txn, reply at once).
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cassert>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
constexpr std::string_view kBadClientName =
    "ERR Client names cannot contain spaces, newlines or special characters.";

// Whether `given` is the password, in time that does not depend on where they differ: both
// are hashed (SHA-256, so their lengths do not show either) and the digests compared with
// CRYPTO_memcmp.
bool PasswordMatches(std::string_view given, std::string_view password) {
  unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
  unsigned int a_len = 0, b_len = 0;
  if (EVP_Digest(given.data(), given.size(), a, &a_len, EVP_sha256(), nullptr) != 1 ||
      EVP_Digest(password.data(), password.size(), b, &b_len, EVP_sha256(), nullptr) != 1) {
    return false;
  }
  assert(a_len == b_len && a_len == 32);
  return CRYPTO_memcmp(a, b, a_len) == 0;
}

// CLIENT SETNAME's rule (Redis): printable ASCII without spaces.
bool ValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

void CountAuthFailure(CommandContext& ctx) {
  ctx.session->auth_failures++;
  ctx.server->auth_failures.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

void CmdAuth(CommandContext& ctx) {
  const auto& args = ctx.args;
  const std::string& password = ctx.server->config.requirepass;
  if (args.size() > 3) return ctx.out->Error(kErrSyntax);
  if (password.empty()) {
    return ctx.out->Error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
  }
  const bool user_ok = args.size() == 2 || args[1] == "default";
  const bool password_ok = PasswordMatches(args.back(), password);
  if (!user_ok || !password_ok) {
    CountAuthFailure(ctx);
    return ctx.out->Error(kWrongPass);
  }
  ctx.session->authed = true;
  ctx.out->Simple("OK");
}

void CmdHello(CommandContext& ctx) {
  const auto& args = ctx.args;
  Session& session = *ctx.session;
  const std::string& password = ctx.server->config.requirepass;
  int protocol = session.protocol;
  size_t i = 1;
  if (args.size() > 1) {
    int64_t v = 0;
    if (!ParseInt64(args[1], &v)) {
      return ctx.out->Error("ERR Protocol version is not an integer or out of range");
    }
    if (v != 2 && v != 3) return ctx.out->Error("NOPROTO unsupported protocol version");
    protocol = static_cast<int>(v);
    i = 2;
  }
  std::optional<std::string> new_name;
  bool authed = session.authed;
  for (; i < args.size(); i++) {
    if (EqualsIgnoreCase(args[i], "auth") && i + 2 < args.size()) {
      if (!password.empty()) {
        const bool password_ok = PasswordMatches(args[i + 2], password);
        if (args[i + 1] != "default" || !password_ok) {
          CountAuthFailure(ctx);
          return ctx.out->Error(kWrongPass);
        }
      }
      authed = true;
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "setname") && i + 1 < args.size()) {
      new_name = args[++i];
      if (!ValidClientName(*new_name)) return ctx.out->Error(kBadClientName);
    } else {
      return ctx.out->Error("ERR Syntax error in HELLO option '" + args[i] + "'");
    }
  }
  if (!authed) {
    return ctx.out->Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time");
  }
  session.authed = true;
  if (new_name) session.name = *new_name;
  session.protocol = protocol;
  // The reply is already in the new protocol.
  ReplyWriter reply(protocol);
  reply.Map(7);
  reply.Bulk("server");
  reply.Bulk("redis");
  reply.Bulk("version");
  reply.Bulk("7.0.15");
  reply.Bulk("proto");
  reply.Integer(protocol);
  reply.Bulk("id");
  reply.Integer(static_cast<int64_t>(session.id));
  reply.Bulk("mode");
  reply.Bulk("standalone");
  reply.Bulk("role");
  reply.Bulk(ctx.server->IsWriter() ? "master" : "replica");
  reply.Bulk("modules");
  reply.Array(0);
  ctx.out->Raw(reply.buffer());
}

void CmdSelect(CommandContext& ctx) {
  int64_t db = 0;
  if (!ParseInt64(ctx.args[1], &db)) return ctx.out->Error(kErrNotInteger);
  if (db != 0) return ctx.out->Error("ERR DB index is out of range");
  ctx.out->Simple("OK");
}

void CmdQuit(CommandContext& ctx) {
  ctx.session->close_requested = true;
  ctx.out->Simple("OK");
}

void CmdShutdown(CommandContext& ctx) {
  const auto& args = ctx.args;
  // SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: there is nothing to save (every
  // acknowledged write is durable already), so the save options change nothing.
  for (size_t i = 1; i < args.size(); i++) {
    const std::string option = Lower(args[i]);
    if (option == "abort") return ctx.out->Error("ERR No shutdown in progress.");
    if (option != "nosave" && option != "save" && option != "now" && option != "force") {
      return ctx.out->Error(kErrSyntax);
    }
  }
  if (!ctx.server->config.shutdown) return ctx.out->Error("ERR SHUTDOWN is not enabled here");
  // As Redis: no reply; the connection closes when the server stops (after this client's
  // earlier replies), which redis-cli takes as success.
  ctx.session->close_requested = true;
  ctx.server->config.shutdown();
}

void CmdReset(CommandContext& ctx) {
  Session& session = *ctx.session;
  session.EndMulti();
  session.Unwatch(&ctx.server->watches);
  session.protocol = 2;
  session.name.clear();
  session.authed = ctx.server->config.requirepass.empty();
  ctx.out->Simple("RESET");
}

void CmdClient(CommandContext& ctx) {
  const auto& args = ctx.args;
  Session& session = *ctx.session;
  std::string sub = Lower(args[1]);
  if (sub == "setname" && args.size() == 3) {
    if (!ValidClientName(args[2])) return ctx.out->Error(kBadClientName);
    session.name = args[2];
    return ctx.out->Simple("OK");
  }
  if (sub == "getname" && args.size() == 2) {
    return session.name.empty() ? ctx.out->Null() : ctx.out->Bulk(session.name);
  }
  if (sub == "id" && args.size() == 2) return ctx.out->Integer(static_cast<int64_t>(session.id));
  if ((sub == "info" || sub == "list") && args.size() == 2) {
    return ctx.out->Bulk("id=" + std::to_string(session.id) + " addr=" + session.addr + " name=" +
                         session.name + " db=0 resp=" + std::to_string(session.protocol) + "\n");
  }
  if (sub == "setinfo" && args.size() == 4) return ctx.out->Simple("OK");
  ctx.out->Error("ERR unknown subcommand or wrong number of arguments for '" + args[1] +
                 "'. Try CLIENT HELP.");
}

}  // namespace cloudkv::server
