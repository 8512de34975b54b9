// SPDX-License-Identifier: Apache-2.0
// Command handlers (see commands.h for the contract), one function per command.
#ifndef CLOUDKV_SERVER_HANDLERS_H_
#define CLOUDKV_SERVER_HANDLERS_H_

#include "server/commands.h"

namespace cloudkv::server {

#define CLOUDKV_HANDLER(name) void name(CommandContext& ctx)
// strings (commands_string.cc)
CLOUDKV_HANDLER(CmdGet);
CLOUDKV_HANDLER(CmdSet);
CLOUDKV_HANDLER(CmdSetNx);
CLOUDKV_HANDLER(CmdSetEx);
CLOUDKV_HANDLER(CmdPSetEx);
CLOUDKV_HANDLER(CmdGetSet);
CLOUDKV_HANDLER(CmdGetDel);
CLOUDKV_HANDLER(CmdGetEx);
CLOUDKV_HANDLER(CmdMGet);
CLOUDKV_HANDLER(CmdMSet);
CLOUDKV_HANDLER(CmdMSetNx);
CLOUDKV_HANDLER(CmdAppend);
CLOUDKV_HANDLER(CmdStrLen);
CLOUDKV_HANDLER(CmdGetRange);
CLOUDKV_HANDLER(CmdSetRange);
CLOUDKV_HANDLER(CmdIncr);
CLOUDKV_HANDLER(CmdIncrBy);
CLOUDKV_HANDLER(CmdDecr);
CLOUDKV_HANDLER(CmdDecrBy);
CLOUDKV_HANDLER(CmdIncrByFloat);
// keys (commands_keys.cc)
CLOUDKV_HANDLER(CmdDel);
CLOUDKV_HANDLER(CmdExists);
CLOUDKV_HANDLER(CmdType);
CLOUDKV_HANDLER(CmdRename);
CLOUDKV_HANDLER(CmdRenameNx);
CLOUDKV_HANDLER(CmdDbSize);
CLOUDKV_HANDLER(CmdScan);
CLOUDKV_HANDLER(CmdKeys);
CLOUDKV_HANDLER(CmdExpire);
CLOUDKV_HANDLER(CmdPExpire);
CLOUDKV_HANDLER(CmdExpireAt);
CLOUDKV_HANDLER(CmdPExpireAt);
CLOUDKV_HANDLER(CmdTtl);
CLOUDKV_HANDLER(CmdPTtl);
CLOUDKV_HANDLER(CmdPersist);
CLOUDKV_HANDLER(CmdFlushDb);
CLOUDKV_HANDLER(CmdExpireTime);
CLOUDKV_HANDLER(CmdPExpireTime);
// hashes (commands_hash.cc)
CLOUDKV_HANDLER(CmdHSet);
CLOUDKV_HANDLER(CmdHMSet);
CLOUDKV_HANDLER(CmdHSetNx);
CLOUDKV_HANDLER(CmdHGet);
CLOUDKV_HANDLER(CmdHMGet);
CLOUDKV_HANDLER(CmdHDel);
CLOUDKV_HANDLER(CmdHGetAll);
CLOUDKV_HANDLER(CmdHLen);
CLOUDKV_HANDLER(CmdHExists);
CLOUDKV_HANDLER(CmdHIncrBy);
CLOUDKV_HANDLER(CmdHIncrByFloat);
CLOUDKV_HANDLER(CmdHKeys);
CLOUDKV_HANDLER(CmdHVals);
CLOUDKV_HANDLER(CmdHScan);
CLOUDKV_HANDLER(CmdHStrLen);
// lists (commands_list.cc)
CLOUDKV_HANDLER(CmdLPush);
CLOUDKV_HANDLER(CmdRPush);
CLOUDKV_HANDLER(CmdLPushX);
CLOUDKV_HANDLER(CmdRPushX);
CLOUDKV_HANDLER(CmdLPop);
CLOUDKV_HANDLER(CmdRPop);
CLOUDKV_HANDLER(CmdLLen);
CLOUDKV_HANDLER(CmdLRange);
CLOUDKV_HANDLER(CmdLIndex);
CLOUDKV_HANDLER(CmdLSet);
CLOUDKV_HANDLER(CmdLInsert);
CLOUDKV_HANDLER(CmdLRem);
CLOUDKV_HANDLER(CmdLTrim);
CLOUDKV_HANDLER(CmdLPos);
CLOUDKV_HANDLER(CmdLMove);
CLOUDKV_HANDLER(CmdRPopLPush);
CLOUDKV_HANDLER(CmdBLPop);
CLOUDKV_HANDLER(CmdBRPop);
CLOUDKV_HANDLER(CmdBLMove);
CLOUDKV_HANDLER(CmdBRPopLPush);
// sets (commands_set.cc)
CLOUDKV_HANDLER(CmdSAdd);
CLOUDKV_HANDLER(CmdSRem);
CLOUDKV_HANDLER(CmdSMembers);
CLOUDKV_HANDLER(CmdSIsMember);
CLOUDKV_HANDLER(CmdSMIsMember);
CLOUDKV_HANDLER(CmdSCard);
CLOUDKV_HANDLER(CmdSPop);
CLOUDKV_HANDLER(CmdSRandMember);
CLOUDKV_HANDLER(CmdSMove);
CLOUDKV_HANDLER(CmdSInter);
CLOUDKV_HANDLER(CmdSUnion);
CLOUDKV_HANDLER(CmdSDiff);
CLOUDKV_HANDLER(CmdSInterStore);
CLOUDKV_HANDLER(CmdSUnionStore);
CLOUDKV_HANDLER(CmdSDiffStore);
CLOUDKV_HANDLER(CmdSInterCard);
CLOUDKV_HANDLER(CmdSScan);
// sorted sets (commands_zset.cc)
CLOUDKV_HANDLER(CmdZAdd);
CLOUDKV_HANDLER(CmdZIncrBy);
CLOUDKV_HANDLER(CmdZRem);
CLOUDKV_HANDLER(CmdZScore);
CLOUDKV_HANDLER(CmdZMScore);
CLOUDKV_HANDLER(CmdZCard);
CLOUDKV_HANDLER(CmdZCount);
CLOUDKV_HANDLER(CmdZLexCount);
CLOUDKV_HANDLER(CmdZRange);
CLOUDKV_HANDLER(CmdZRevRange);
CLOUDKV_HANDLER(CmdZRangeByScore);
CLOUDKV_HANDLER(CmdZRevRangeByScore);
CLOUDKV_HANDLER(CmdZRangeByLex);
CLOUDKV_HANDLER(CmdZRevRangeByLex);
CLOUDKV_HANDLER(CmdZRangeStore);
CLOUDKV_HANDLER(CmdZRank);
CLOUDKV_HANDLER(CmdZRevRank);
CLOUDKV_HANDLER(CmdZPopMin);
CLOUDKV_HANDLER(CmdZPopMax);
CLOUDKV_HANDLER(CmdZRemRangeByRank);
CLOUDKV_HANDLER(CmdZRemRangeByScore);
CLOUDKV_HANDLER(CmdZRemRangeByLex);
CLOUDKV_HANDLER(CmdZUnionStore);
CLOUDKV_HANDLER(CmdZInterStore);
CLOUDKV_HANDLER(CmdZDiffStore);
CLOUDKV_HANDLER(CmdZRandMember);
CLOUDKV_HANDLER(CmdZScan);
// connection state (commands_connection.cc)
CLOUDKV_HANDLER(CmdHello);
CLOUDKV_HANDLER(CmdAuth);
CLOUDKV_HANDLER(CmdSelect);
CLOUDKV_HANDLER(CmdQuit);
CLOUDKV_HANDLER(CmdShutdown);
CLOUDKV_HANDLER(CmdReset);
CLOUDKV_HANDLER(CmdClient);
// transactions (commands_transaction.cc)
CLOUDKV_HANDLER(CmdMulti);
CLOUDKV_HANDLER(CmdExec);
CLOUDKV_HANDLER(CmdDiscard);
CLOUDKV_HANDLER(CmdWatch);
CLOUDKV_HANDLER(CmdUnwatch);
CLOUDKV_HANDLER(CmdBZPopMin);
CLOUDKV_HANDLER(CmdBZPopMax);
// bitmaps (commands_bitmap.cc) and LCS (commands_string.cc)
CLOUDKV_HANDLER(CmdSetBit);
CLOUDKV_HANDLER(CmdGetBit);
CLOUDKV_HANDLER(CmdBitCount);
CLOUDKV_HANDLER(CmdBitPos);
CLOUDKV_HANDLER(CmdBitOp);
CLOUDKV_HANDLER(CmdBitField);
CLOUDKV_HANDLER(CmdBitFieldRo);
CLOUDKV_HANDLER(CmdLcs);
// keyspace (commands_keyspace.cc)
CLOUDKV_HANDLER(CmdCopy);
CLOUDKV_HANDLER(CmdRandomKey);
CLOUDKV_HANDLER(CmdTouch);
CLOUDKV_HANDLER(CmdObject);
// SORT (commands_sort.cc)
CLOUDKV_HANDLER(CmdSort);
CLOUDKV_HANDLER(CmdSortRo);
// server (commands_server.cc)
CLOUDKV_HANDLER(CmdSave);
CLOUDKV_HANDLER(CmdPing);
CLOUDKV_HANDLER(CmdEcho);
CLOUDKV_HANDLER(CmdInfo);
CLOUDKV_HANDLER(CmdConfig);
CLOUDKV_HANDLER(CmdCommand);
CLOUDKV_HANDLER(CmdTime);
#undef CLOUDKV_HANDLER

// After a push to `key`: serves the clients blocked on it (blocking.h) from this transaction,
// oldest first, while the list has elements. Inside EXEC it only notes the key for later.
void ServeBlockedClients(CommandContext& ctx, const std::string& key);

// After a write to the sorted set `key` (whose metadata is `meta`): pops for the clients
// blocked on it in BZPOPMIN/BZPOPMAX, oldest first, while it has members
// (commands_zset_blocking.cc).
void ServeZSetWaiters(CommandContext& ctx, const std::string& key, Metadata meta);

// Redis's timeout argument of the blocking commands (seconds, fractions allowed): false
// after replying Redis's error.
bool ParseTimeout(CommandContext& ctx, std::string_view arg, uint64_t* timeout_ms);

// Parses an expiry option value (EX/PX/EXAT/PXAT unit) into an absolute ms deadline. Replies
// and returns false on a bad value. `command` names the command in the error.
bool ParseExpiry(CommandContext& ctx, std::string_view option, std::string_view value,
                 std::string_view command, uint64_t* deadline_ms);

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_HANDLERS_H_
