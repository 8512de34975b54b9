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
// server (commands_server.cc)
CLOUDKV_HANDLER(CmdPing);
CLOUDKV_HANDLER(CmdEcho);
CLOUDKV_HANDLER(CmdInfo);
CLOUDKV_HANDLER(CmdConfig);
CLOUDKV_HANDLER(CmdCommand);
CLOUDKV_HANDLER(CmdTime);
#undef CLOUDKV_HANDLER

// Parses an expiry option value (EX/PX/EXAT/PXAT unit) into an absolute ms deadline. Replies
// and returns false on a bad value. `command` names the command in the error.
bool ParseExpiry(CommandContext& ctx, std::string_view option, std::string_view value,
                 std::string_view command, uint64_t* deadline_ms);

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_HANDLERS_H_
