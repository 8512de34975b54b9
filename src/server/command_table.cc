// SPDX-License-Identifier: Apache-2.0
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
    {"shutdown", -1, S | kCmdNoTransaction, 0, 0, 0, CmdShutdown,
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
    {"save", 1, S | kCmdAdmin | kCmdNoTransaction, 0, 0, 0, CmdSave,
     "Replies OK: every acknowledged write is durable already."},
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
    {"lcs", -3, R, 1, 2, 1, CmdLcs, ""},
    // bitmaps
    {"setbit", 4, W, 1, 1, 1, CmdSetBit, ""},
    {"getbit", 3, R | F | kCmdOneRead, 1, 1, 1, CmdGetBit, ""},
    {"bitcount", -2, R | kCmdOneRead, 1, 1, 1, CmdBitCount, ""},
    {"bitpos", -3, R | kCmdOneRead, 1, 1, 1, CmdBitPos, ""},
    {"bitop", -4, W, 2, -1, 1, CmdBitOp, ""},
    {"bitfield", -2, W, 1, 1, 1, CmdBitField, ""},
    {"bitfield_ro", -2, R | F | kCmdOneRead, 1, 1, 1, CmdBitFieldRo, ""},
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
    {"copy", -3, W, 1, 2, 1, CmdCopy, ""},
    {"randomkey", 1, R, 0, 0, 0, CmdRandomKey, ""},
    {"touch", -2, R | F, 1, -1, 1, CmdTouch, ""},
    {"object", -2, R, 2, 2, 1, CmdObject, ""},
    // SORT's keys: the sorted key and STORE's destination (every argument is locked, a
    // superset); BY/GET keys are read, as Redis reads them, without a lock.
    {"sort", -2, W, 1, -1, 1, CmdSort, ""},
    {"sort_ro", -2, R, 1, 1, 1, CmdSortRo, ""},
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
    // lists
    {"lpush", -3, W | F, 1, 1, 1, CmdLPush, ""},
    {"rpush", -3, W | F, 1, 1, 1, CmdRPush, ""},
    {"lpushx", -3, W | F, 1, 1, 1, CmdLPushX, ""},
    {"rpushx", -3, W | F, 1, 1, 1, CmdRPushX, ""},
    {"lpop", -2, W | F, 1, 1, 1, CmdLPop, ""},
    {"rpop", -2, W | F, 1, 1, 1, CmdRPop, ""},
    {"llen", 2, R | F, 1, 1, 1, CmdLLen, ""},
    {"lrange", 4, R, 1, 1, 1, CmdLRange, ""},
    {"lindex", 3, R, 1, 1, 1, CmdLIndex, ""},
    {"lset", 4, W, 1, 1, 1, CmdLSet, ""},
    {"linsert", 5, W, 1, 1, 1, CmdLInsert, ""},
    {"lrem", 4, W, 1, 1, 1, CmdLRem, ""},
    {"ltrim", 4, W, 1, 1, 1, CmdLTrim, ""},
    {"lpos", -3, R, 1, 1, 1, CmdLPos, ""},
    {"lmove", 5, W, 1, 2, 1, CmdLMove, ""},
    {"rpoplpush", 3, W, 1, 2, 1, CmdRPopLPush, ""},
    {"blpop", -3, W | kCmdBlocking, 1, -2, 1, CmdBLPop, ""},
    {"brpop", -3, W | kCmdBlocking, 1, -2, 1, CmdBRPop, ""},
    {"blmove", 6, W | kCmdBlocking, 1, 2, 1, CmdBLMove, ""},
    {"brpoplpush", 4, W | kCmdBlocking, 1, 2, 1, CmdBRPopLPush, ""},
    // sets
    {"sadd", -3, W | F, 1, 1, 1, CmdSAdd, ""},
    {"srem", -3, W | F, 1, 1, 1, CmdSRem, ""},
    {"smembers", 2, R, 1, 1, 1, CmdSMembers, ""},
    {"sismember", 3, R | F, 1, 1, 1, CmdSIsMember, ""},
    {"smismember", -3, R | F, 1, 1, 1, CmdSMIsMember, ""},
    {"scard", 2, R | F, 1, 1, 1, CmdSCard, ""},
    {"spop", -2, W | F, 1, 1, 1, CmdSPop, ""},
    {"srandmember", -2, R, 1, 1, 1, CmdSRandMember, ""},
    {"smove", 4, W | F, 1, 2, 1, CmdSMove, ""},
    {"sinter", -2, R, 1, -1, 1, CmdSInter, ""},
    {"sunion", -2, R, 1, -1, 1, CmdSUnion, ""},
    {"sdiff", -2, R, 1, -1, 1, CmdSDiff, ""},
    {"sinterstore", -3, W, 1, -1, 1, CmdSInterStore, ""},
    {"sunionstore", -3, W, 1, -1, 1, CmdSUnionStore, ""},
    {"sdiffstore", -3, W, 1, -1, 1, CmdSDiffStore, ""},
    {"sintercard", -3, R, 0, 0, 0, CmdSInterCard, ""},
    {"sscan", -3, R, 1, 1, 1, CmdSScan, ""},
    // sorted sets
    {"zadd", -4, W | F, 1, 1, 1, CmdZAdd, ""},
    {"zincrby", 4, W | F, 1, 1, 1, CmdZIncrBy, ""},
    {"zrem", -3, W | F, 1, 1, 1, CmdZRem, ""},
    {"zscore", 3, R | F, 1, 1, 1, CmdZScore, ""},
    {"zmscore", -3, R | F, 1, 1, 1, CmdZMScore, ""},
    {"zcard", 2, R | F, 1, 1, 1, CmdZCard, ""},
    {"zcount", 4, R | F, 1, 1, 1, CmdZCount, ""},
    {"zlexcount", 4, R | F, 1, 1, 1, CmdZLexCount, ""},
    {"zrange", -4, R, 1, 1, 1, CmdZRange, ""},
    {"zrevrange", -4, R, 1, 1, 1, CmdZRevRange, ""},
    {"zrangebyscore", -4, R, 1, 1, 1, CmdZRangeByScore, ""},
    {"zrevrangebyscore", -4, R, 1, 1, 1, CmdZRevRangeByScore, ""},
    {"zrangebylex", -4, R, 1, 1, 1, CmdZRangeByLex, ""},
    {"zrevrangebylex", -4, R, 1, 1, 1, CmdZRevRangeByLex, ""},
    {"zrangestore", -5, W, 1, 2, 1, CmdZRangeStore, ""},
    {"zrank", -3, R | F, 1, 1, 1, CmdZRank, ""},
    {"zrevrank", -3, R | F, 1, 1, 1, CmdZRevRank, ""},
    {"zpopmin", -2, W | F, 1, 1, 1, CmdZPopMin, ""},
    {"zpopmax", -2, W | F, 1, 1, 1, CmdZPopMax, ""},
    {"zremrangebyrank", 4, W, 1, 1, 1, CmdZRemRangeByRank, ""},
    {"zremrangebyscore", 4, W, 1, 1, 1, CmdZRemRangeByScore, ""},
    {"zremrangebylex", 4, W, 1, 1, 1, CmdZRemRangeByLex, ""},
    {"zunionstore", -4, W, 1, -1, 1, CmdZUnionStore, ""},
    {"zinterstore", -4, W, 1, -1, 1, CmdZInterStore, ""},
    {"zdiffstore", -4, W, 1, -1, 1, CmdZDiffStore, ""},
    {"zrandmember", -2, R, 1, 1, 1, CmdZRandMember, ""},
    {"zscan", -3, R, 1, 1, 1, CmdZScan, ""},
    {"bzpopmin", -3, W | kCmdBlocking, 1, -2, 1, CmdBZPopMin, ""},
    {"bzpopmax", -3, W | kCmdBlocking, 1, -2, 1, CmdBZPopMax, ""},
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
