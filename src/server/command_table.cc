// The command table: names, arities (Redis convention), flags and key positions.
#include <cassert>
#include <unordered_map>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

constexpr uint32_t W = kCmdWrite;
constexpr uint32_t R = kCmdReadOnly;
constexpr uint32_t F = kCmdFast;
constexpr uint32_t S = kCmdSession;
constexpr uint32_t G = kCmdGroup;

const CommandSpec kCommands[] = {
    // connection
    {"ping", -1, F, 0, 0, 0, CmdPing, "Returns PONG or the argument."},
    {"echo", 2, F, 0, 0, 0, CmdEcho, "Returns the argument."},
    {"hello", -1, S | F | kCmdNoAuth | kCmdNoMulti, 0, 0, 0, CmdHello,
     "Handshake: protocol, auth, name."},
    {"auth", -2, S | F | kCmdNoAuth | kCmdNoMulti, 0, 0, 0, CmdAuth,
     "Authenticates the connection."},
    {"select", 2, S | F, 0, 0, 0, CmdSelect, "Selects database 0 (the only one)."},
    {"quit", -1, S | F | kCmdNoAuth | kCmdNoMulti, 0, 0, 0, CmdQuit, "Closes the connection."},
    {"shutdown", -1, S, 0, 0, 0, CmdShutdown,
     "Stops the server gracefully (writes in flight become durable first)."},
    {"reset", 1, S | F | kCmdNoAuth | kCmdNoMulti, 0, 0, 0, CmdReset,
     "Resets the connection state."},
    {"client", -2, S, 0, 0, 0, CmdClient, "CLIENT SETNAME/GETNAME/ID/INFO/SETINFO."},
    // transactions
    {"multi", 1, S | F | kCmdNoMulti, 0, 0, 0, CmdMulti, "Starts a transaction."},
    {"exec", 1, kCmdTransaction | kCmdNoMulti, 0, 0, 0, CmdExec,
     "Executes the queued commands atomically."},
    {"discard", 1, S | F | kCmdNoMulti, 0, 0, 0, CmdDiscard, "Discards the queued commands."},
    {"watch", -2, S | F | kCmdNoMulti, 1, -1, 1, CmdWatch, "Watches keys for EXEC."},
    {"unwatch", 1, S | F | kCmdNoMulti, 0, 0, 0, CmdUnwatch, "Forgets watched keys."},
    // server
    {"info", -1, 0, 0, 0, 0, CmdInfo, "Server information and statistics."},
    {"config", -2, kCmdAdmin, 0, 0, 0, CmdConfig, "CONFIG GET of a few parameters."},
    {"command", -1, 0, 0, 0, 0, CmdCommand, "Command table introspection."},
    {"time", 1, F, 0, 0, 0, CmdTime, "Server time."},
    {"dbsize", 1, R, 0, 0, 0, CmdDbSize, "Number of keys (iterates them)."},
    {"flushdb", -1, W | kCmdAllKeys, 0, 0, 0, CmdFlushDb, "Deletes every key."},
    {"flushall", -1, W | kCmdAllKeys, 0, 0, 0, CmdFlushDb, "Deletes every key."},
    // strings
    {"get", 2, R | F | kCmdOneRead, 1, 1, 1, CmdGet, ""},
    {"set", -3, W | G, 1, 1, 1, CmdSet, ""},
    {"setnx", 3, W | G | F, 1, 1, 1, CmdSetNx, ""},
    {"setex", 4, W | G, 1, 1, 1, CmdSetEx, ""},
    {"psetex", 4, W | G, 1, 1, 1, CmdPSetEx, ""},
    {"getset", 3, W | G | F, 1, 1, 1, CmdGetSet, ""},
    {"getdel", 2, W | G | F, 1, 1, 1, CmdGetDel, ""},
    {"getex", -2, W | F, 1, 1, 1, CmdGetEx, ""},
    {"mget", -2, R | F, 1, -1, 1, CmdMGet, ""},
    {"mset", -3, W | G, 1, -1, 2, CmdMSet, ""},
    {"msetnx", -3, W | G, 1, -1, 2, CmdMSetNx, ""},
    {"append", 3, W, 1, 1, 1, CmdAppend, ""},
    {"strlen", 2, R | F | kCmdOneRead, 1, 1, 1, CmdStrLen, ""},
    {"getrange", 4, R | kCmdOneRead, 1, 1, 1, CmdGetRange, ""},
    {"substr", 4, R | kCmdOneRead, 1, 1, 1, CmdGetRange, ""},
    {"setrange", 4, W, 1, 1, 1, CmdSetRange, ""},
    {"incr", 2, W | G | F, 1, 1, 1, CmdIncr, ""},
    {"incrby", 3, W | G | F, 1, 1, 1, CmdIncrBy, ""},
    {"decr", 2, W | G | F, 1, 1, 1, CmdDecr, ""},
    {"decrby", 3, W | G | F, 1, 1, 1, CmdDecrBy, ""},
    {"incrbyfloat", 3, W | F, 1, 1, 1, CmdIncrByFloat, ""},
    // keys
    {"del", -2, W | G, 1, -1, 1, CmdDel, ""},
    {"unlink", -2, W | G | F, 1, -1, 1, CmdDel, ""},
    {"exists", -2, R | F, 1, -1, 1, CmdExists, ""},
    {"type", 2, R | F | kCmdOneRead, 1, 1, 1, CmdType, ""},
    {"rename", 3, W, 1, 2, 1, CmdRename, ""},
    {"renamenx", 3, W | F, 1, 2, 1, CmdRenameNx, ""},
    {"scan", -2, R, 0, 0, 0, CmdScan, ""},
    {"keys", 2, R, 0, 0, 0, CmdKeys, ""},
    {"expire", -3, W | F, 1, 1, 1, CmdExpire, ""},
    {"pexpire", -3, W | F, 1, 1, 1, CmdPExpire, ""},
    {"expireat", -3, W | F, 1, 1, 1, CmdExpireAt, ""},
    {"pexpireat", -3, W | F, 1, 1, 1, CmdPExpireAt, ""},
    {"expiretime", 2, R | F, 1, 1, 1, CmdExpireTime, ""},
    {"pexpiretime", 2, R | F, 1, 1, 1, CmdPExpireTime, ""},
    {"ttl", 2, R | F | kCmdOneRead, 1, 1, 1, CmdTtl, ""},
    {"pttl", 2, R | F | kCmdOneRead, 1, 1, 1, CmdPTtl, ""},
    {"persist", 2, W | F, 1, 1, 1, CmdPersist, ""},
    // hashes
    {"hset", -4, W | G | F, 1, 1, 1, CmdHSet, ""},
    {"hmset", -4, W | G | F, 1, 1, 1, CmdHMSet, ""},
    {"hsetnx", 4, W | G | F, 1, 1, 1, CmdHSetNx, ""},
    {"hget", 3, R | F, 1, 1, 1, CmdHGet, ""},
    {"hmget", -3, R | F, 1, 1, 1, CmdHMGet, ""},
    {"hdel", -3, W | G | F, 1, 1, 1, CmdHDel, ""},
    {"hgetall", 2, R, 1, 1, 1, CmdHGetAll, ""},
    {"hlen", 2, R | F, 1, 1, 1, CmdHLen, ""},
    {"hexists", 3, R | F, 1, 1, 1, CmdHExists, ""},
    {"hstrlen", 3, R | F, 1, 1, 1, CmdHStrLen, ""},
    {"hincrby", 4, W | G | F, 1, 1, 1, CmdHIncrBy, ""},
    {"hincrbyfloat", 4, W | F, 1, 1, 1, CmdHIncrByFloat, ""},
    {"hkeys", 2, R, 1, 1, 1, CmdHKeys, ""},
    {"hvals", 2, R, 1, 1, 1, CmdHVals, ""},
    {"hscan", -3, R, 1, 1, 1, CmdHScan, ""},
};

}  // namespace

std::span<const CommandSpec> AllCommands() { return kCommands; }

const CommandSpec* FindCommand(std::string_view name) {
  static const std::unordered_map<std::string, const CommandSpec*> index = [] {
    std::unordered_map<std::string, const CommandSpec*> map;
    for (const auto& spec : kCommands) {
      assert(spec.handler != nullptr);  // every command, connection state included, has one
      map[spec.name] = &spec;
    }
    return map;
  }();
  if (name.size() > 32) return nullptr;
  auto it = index.find(Lower(name));
  return it == index.end() ? nullptr : it->second;
}

size_t CommandIndex(const CommandSpec* spec) { return static_cast<size_t>(spec - kCommands); }

}  // namespace cloudkv::server
