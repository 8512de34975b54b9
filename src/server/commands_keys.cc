// SPDX-License-Identifier: Apache-2.0
// Generic key commands: DEL, EXISTS, TYPE, RENAME, expiry, SCAN/KEYS/DBSIZE, FLUSHDB.
#include <climits>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

// Visits every live key (metadata record) from after `start_after`, until `visit` is false.
Status VisitKeys(CommandContext& ctx, const std::optional<std::string>& start_after,
                 const std::function<bool(std::string_view meta_key, const Metadata*)>& visit) {
  Status decode_error;
  Status s =
      ctx.txn->Scan(std::string(1, kMetaPrefix), std::string(1, kMetaEnd), start_after,
                    [&](std::string_view key, std::string_view value) {
                      Result<Metadata> meta = DecodeMetadata(key.substr(1), value);
                      if (!meta.ok()) {
                        decode_error = meta.status();
                        return false;
                      }
                      return visit(key, meta->ExpiredAt(ctx.txn->now_ms()) ? nullptr : &*meta);
                    });
  return s.ok() ? decode_error : s;
}

void ExpireGeneric(CommandContext& ctx, bool seconds, bool relative, std::string_view name) {
  const auto& a = ctx.args;
  int64_t when = 0;
  if (!ParseInt64(a[2], &when)) return ctx.out->Error(kErrNotInteger);
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < a.size(); i++) {
    std::string opt = Lower(a[i]);
    if (opt == "nx") {
      nx = true;
    } else if (opt == "xx") {
      xx = true;
    } else if (opt == "gt") {
      gt = true;
    } else if (opt == "lt") {
      lt = true;
    } else {
      return ctx.out->Error("ERR Unsupported option " + a[i]);
    }
  }
  if (nx && (xx || gt || lt)) {
    return ctx.out->Error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (gt && lt) return ctx.out->Error("ERR GT and LT options at the same time are not compatible");
  std::string invalid = "ERR invalid expire time in '" + std::string(name) + "' command";
  __int128 deadline = when;
  if (seconds) deadline *= 1000;
  if (relative) deadline += ctx.txn->now_ms();
  if (deadline > INT64_MAX || (seconds && (when > INT64_MAX / 1000 || when < INT64_MIN / 1000))) {
    return ctx.out->Error(invalid);
  }
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(a[1]);
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  if (!got->has_value()) return ctx.out->Integer(0);
  Metadata meta = std::move(**got);
  bool has_ttl = meta.expire_at_ms != 0;
  if ((nx && has_ttl) || (xx && !has_ttl) ||
      (gt && (!has_ttl || deadline <= static_cast<__int128>(meta.expire_at_ms))) ||
      (lt && has_ttl && deadline >= static_cast<__int128>(meta.expire_at_ms))) {
    return ctx.out->Integer(0);
  }
  if (deadline <= static_cast<__int128>(ctx.txn->now_ms())) {
    ctx.txn->DeleteKey(a[1], meta);
  } else {
    meta.expire_at_ms = static_cast<uint64_t>(deadline);
    ctx.txn->PutMeta(a[1], meta);
  }
  ctx.out->Integer(1);
}

void TtlGeneric(CommandContext& ctx, bool millis, bool absolute) {
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[1]);
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  if (!got->has_value()) return ctx.out->Integer(-2);
  uint64_t at = (*got)->expire_at_ms;
  if (at == 0) return ctx.out->Integer(-1);
  if (absolute) return ctx.out->Integer(static_cast<int64_t>(millis ? at : (at + 500) / 1000));
  uint64_t left = at - ctx.txn->now_ms();  // > 0: an expired key reads as absent
  ctx.out->Integer(static_cast<int64_t>(millis ? left : (left + 500) / 1000));
}

void RenameGeneric(CommandContext& ctx, bool nx) {
  const std::string& from = ctx.args[1];
  const std::string& to = ctx.args[2];
  Result<std::optional<Metadata>> src = ctx.txn->GetMeta(from);
  if (!src.ok()) return ReplyStatus(ctx.out, src.status());
  if (!src->has_value()) return ctx.out->Error("ERR no such key");
  if (from == to) return nx ? ctx.out->Integer(0) : ctx.out->Simple("OK");
  Result<std::optional<Metadata>> dst = ctx.txn->GetMeta(to);
  if (!dst.ok()) return ReplyStatus(ctx.out, dst.status());
  if (dst->has_value()) {
    if (nx) return ctx.out->Integer(0);
    // The old value's elements go with one range deletion (O(1), like DEL).
    ctx.txn->DeleteKey(to, **dst);
  }
  // A hash's fields hang off its version, not its name: moving the metadata moves the hash.
  ctx.txn->PutMeta(to, **src);
  ctx.txn->DeleteMeta(from);
  // As in Redis, a list or sorted set arriving under a key serves the clients blocked on it.
  const ValueType type = (*src)->type;
  if (type == ValueType::kList || type == ValueType::kZSet) ServeBlockedClients(ctx, to);
  if (nx) {
    ctx.out->Integer(1);
  } else {
    ctx.out->Simple("OK");
  }
}

}  // namespace

// DEL and UNLINK hold the locks of all their keys while they run: a cap keeps one command
// from stalling every writer for long (delete more in several commands).
constexpr size_t kMaxKeysPerDel = 100000;

void CmdDel(CommandContext& ctx) {
  if (ctx.args.size() - 1 > kMaxKeysPerDel) {
    return ctx.out->Error("ERR " + Lower(ctx.args[0]) + " of " +
                          std::to_string(ctx.args.size() - 1) + " keys exceeds the limit of " +
                          std::to_string(kMaxKeysPerDel) + " keys per command");
  }
  int64_t deleted = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[i]);
    if (!got.ok()) return ReplyStatus(ctx.out, got.status());
    if (got->has_value()) {
      ctx.txn->DeleteKey(ctx.args[i], **got);
      deleted++;
    }
  }
  ctx.out->Integer(deleted);
}

void CmdExists(CommandContext& ctx) {
  int64_t count = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[i]);
    if (!got.ok()) return ReplyStatus(ctx.out, got.status());
    if (got->has_value()) count++;
  }
  ctx.out->Integer(count);
}

void CmdType(CommandContext& ctx) {
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[1]);
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  ctx.out->Simple(got->has_value() ? TypeName((*got)->type) : "none");
}

void CmdRename(CommandContext& ctx) { RenameGeneric(ctx, false); }
void CmdRenameNx(CommandContext& ctx) { RenameGeneric(ctx, true); }

void CmdDbSize(CommandContext& ctx) {
  int64_t count = 0;
  Status s = VisitKeys(ctx, std::nullopt, [&](std::string_view, const Metadata* meta) {
    if (meta != nullptr) count++;
    return true;
  });
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  ctx.out->Integer(count);
}

void CmdKeys(CommandContext& ctx) {
  std::vector<std::string> keys;
  const std::string& pattern = ctx.args[1];
  // As in Redis, "*" is every key, the empty key too (which the glob "*" does not match).
  const bool all_keys = pattern == "*";
  Status s = VisitKeys(ctx, std::nullopt, [&](std::string_view key, const Metadata* meta) {
    std::string_view user_key = key.substr(1);
    if (meta != nullptr && (all_keys || GlobMatch(pattern, user_key))) {
      keys.emplace_back(user_key);
    }
    return true;
  });
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  ctx.out->Array(keys.size());
  for (const auto& k : keys) ctx.out->Bulk(k);
}

void CmdScan(CommandContext& ctx) {
  ScanOptions scan;
  if (!ParseScanOptions(ctx, 1, ScanOptions::kType, &scan)) return;
  std::optional<std::string> start_after;
  if (!FindScanStart(ctx, scan.cursor, &start_after)) return;
  const size_t budget = scan.budget();
  std::vector<std::string> keys;
  std::optional<std::string> last;
  size_t examined = 0;
  bool more = false;
  Status s = VisitKeys(ctx, start_after, [&](std::string_view key, const Metadata* meta) {
    if (examined == budget) {
      more = true;
      return false;
    }
    examined++;
    last = std::string(key);
    std::string_view user_key = key.substr(1);
    if (meta == nullptr) return true;
    if (scan.pattern && !GlobMatch(*scan.pattern, user_key)) return true;
    if (scan.type && *scan.type != TypeName(meta->type)) return true;
    keys.emplace_back(user_key);
    return true;
  });
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  uint64_t next = more ? ctx.server->cursors.Save(ctx.session->id, *last) : 0;
  ctx.out->Array(2);
  ctx.out->Bulk(std::to_string(next));
  ctx.out->Array(keys.size());
  for (const auto& k : keys) ctx.out->Bulk(k);
}

void CmdExpire(CommandContext& ctx) { ExpireGeneric(ctx, true, true, "expire"); }
void CmdPExpire(CommandContext& ctx) { ExpireGeneric(ctx, false, true, "pexpire"); }
void CmdExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, true, false, "expireat"); }
void CmdPExpireAt(CommandContext& ctx) { ExpireGeneric(ctx, false, false, "pexpireat"); }
void CmdTtl(CommandContext& ctx) { TtlGeneric(ctx, false, false); }
void CmdPTtl(CommandContext& ctx) { TtlGeneric(ctx, true, false); }
void CmdExpireTime(CommandContext& ctx) { TtlGeneric(ctx, false, true); }
void CmdPExpireTime(CommandContext& ctx) { TtlGeneric(ctx, true, true); }

void CmdPersist(CommandContext& ctx) {
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[1]);
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  if (!got->has_value() || (*got)->expire_at_ms == 0) return ctx.out->Integer(0);
  Metadata meta = std::move(**got);
  meta.expire_at_ms = 0;
  ctx.txn->PutMeta(ctx.args[1], meta);
  ctx.out->Integer(1);
}

void CmdFlushDb(CommandContext& ctx) {
  if (ctx.args.size() > 2 || (ctx.args.size() == 2 && !EqualsIgnoreCase(ctx.args[1], "async") &&
                              !EqualsIgnoreCase(ctx.args[1], "sync"))) {
    return ctx.out->Error(kErrSyntax);
  }
  ctx.txn->DeleteAll();
  ctx.out->Simple("OK");
}

}  // namespace cloudkv::server
