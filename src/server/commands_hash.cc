// SPDX-License-Identifier: Apache-2.0
// Hash commands. A hash is a metadata record (version, field count, expiry) plus one record per
// field under FieldKey(version, field) (key_encoding.h).
#include <climits>
#include <cmath>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

// The live hash at `key`, or a new empty one with a fresh version. False after replying.
bool OpenHashForWrite(CommandContext& ctx, std::string_view key, Metadata* meta) {
  std::optional<Metadata> got;
  if (!ReadHash(ctx, key, &got)) return false;
  if (got) {
    *meta = std::move(*got);
  } else {
    meta->type = ValueType::kHash;
    meta->expire_at_ms = 0;
    meta->version = ctx.server->versions.Next();
    meta->count = 0;
  }
  return true;
}

Result<std::optional<std::string>> GetField(CommandContext& ctx, const Metadata& meta,
                                            std::string_view field) {
  return ctx.txn->GetRaw(FieldKey(meta.version, field));
}

// Visits the fields of a hash in order from after `start_after` (a field key).
Status VisitFields(CommandContext& ctx, const Metadata& meta,
                   const std::optional<std::string>& start_after,
                   const std::function<bool(std::string_view key, std::string_view value)>& fn) {
  return ctx.txn->Scan(FieldPrefix(meta.version), FieldPrefix(meta.version + 1), start_after, fn);
}

// HGETALL/HKEYS/HVALS.
void ListFields(CommandContext& ctx, bool keys, bool values) {
  std::optional<Metadata> meta;
  if (!ReadHash(ctx, ctx.args[1], &meta)) return;
  std::vector<std::pair<std::string, std::string>> items;
  if (meta) {
    size_t prefix = FieldPrefix(meta->version).size();
    Status s = VisitFields(ctx, *meta, std::nullopt, [&](std::string_view k, std::string_view v) {
      items.emplace_back(k.substr(prefix), v);
      return true;
    });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  if (keys && values) {
    ctx.out->Map(items.size());
  } else {
    ctx.out->Array(items.size());
  }
  for (const auto& [k, v] : items) {
    if (keys) ctx.out->Bulk(k);
    if (values) ctx.out->Bulk(v);
  }
}

void SetFields(CommandContext& ctx, bool reply_ok) {
  if (ctx.args.size() % 2 != 0) {
    return ctx.out->Error("ERR wrong number of arguments for '" + Lower(ctx.args[0]) + "' command");
  }
  Metadata meta;
  if (!OpenHashForWrite(ctx, ctx.args[1], &meta)) return;
  int64_t added = 0;
  for (size_t i = 2; i < ctx.args.size(); i += 2) {
    std::string key = FieldKey(meta.version, ctx.args[i]);
    Result<std::optional<std::string>> old = ctx.txn->GetRaw(key);
    if (!old.ok()) return ReplyStatus(ctx.out, old.status());
    if (!old->has_value()) added++;
    ctx.txn->PutRaw(key, ctx.args[i + 1]);
  }
  meta.count += static_cast<uint64_t>(added);
  ctx.txn->PutMeta(ctx.args[1], meta);
  if (reply_ok) {
    ctx.out->Simple("OK");
  } else {
    ctx.out->Integer(added);
  }
}

}  // namespace

void CmdHSet(CommandContext& ctx) { SetFields(ctx, false); }
void CmdHMSet(CommandContext& ctx) { SetFields(ctx, true); }

void CmdHSetNx(CommandContext& ctx) {
  Metadata meta;
  if (!OpenHashForWrite(ctx, ctx.args[1], &meta)) return;
  std::string key = FieldKey(meta.version, ctx.args[2]);
  Result<std::optional<std::string>> old = ctx.txn->GetRaw(key);
  if (!old.ok()) return ReplyStatus(ctx.out, old.status());
  if (old->has_value()) return ctx.out->Integer(0);
  ctx.txn->PutRaw(key, ctx.args[3]);
  meta.count++;
  ctx.txn->PutMeta(ctx.args[1], meta);
  ctx.out->Integer(1);
}

void CmdHGet(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadHash(ctx, ctx.args[1], &meta)) return;
  if (!meta) return ctx.out->Null();
  Result<std::optional<std::string>> got = GetField(ctx, *meta, ctx.args[2]);
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  if (!got->has_value()) return ctx.out->Null();
  ctx.out->Bulk(**got);
}

void CmdHMGet(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadHash(ctx, ctx.args[1], &meta)) return;
  std::vector<std::optional<std::string>> values;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    if (!meta) {
      values.emplace_back();
      continue;
    }
    Result<std::optional<std::string>> got = GetField(ctx, *meta, ctx.args[i]);
    if (!got.ok()) return ReplyStatus(ctx.out, got.status());
    values.push_back(std::move(got).value());
  }
  ctx.out->Array(values.size());
  for (const auto& v : values) {
    if (v) {
      ctx.out->Bulk(*v);
    } else {
      ctx.out->Null();
    }
  }
}

void CmdHDel(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadHash(ctx, ctx.args[1], &meta)) return;
  if (!meta) return ctx.out->Integer(0);
  int64_t removed = 0;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    std::string key = FieldKey(meta->version, ctx.args[i]);
    Result<std::optional<std::string>> old = ctx.txn->GetRaw(key);
    if (!old.ok()) return ReplyStatus(ctx.out, old.status());
    if (old->has_value()) {
      ctx.txn->DeleteRaw(key);
      removed++;
    }
  }
  if (removed > 0) {
    meta->count -= std::min<uint64_t>(meta->count, static_cast<uint64_t>(removed));
    if (meta->count == 0) {
      ctx.txn->DeleteMeta(ctx.args[1]);
    } else {
      ctx.txn->PutMeta(ctx.args[1], *meta);
    }
  }
  ctx.out->Integer(removed);
}

void CmdHGetAll(CommandContext& ctx) { ListFields(ctx, true, true); }
void CmdHKeys(CommandContext& ctx) { ListFields(ctx, true, false); }
void CmdHVals(CommandContext& ctx) { ListFields(ctx, false, true); }

void CmdHLen(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadHash(ctx, ctx.args[1], &meta)) return;
  ctx.out->Integer(meta ? static_cast<int64_t>(meta->count) : 0);
}

void CmdHExists(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadHash(ctx, ctx.args[1], &meta)) return;
  if (!meta) return ctx.out->Integer(0);
  Result<std::optional<std::string>> got = GetField(ctx, *meta, ctx.args[2]);
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  ctx.out->Integer(got->has_value() ? 1 : 0);
}

void CmdHStrLen(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadHash(ctx, ctx.args[1], &meta)) return;
  if (!meta) return ctx.out->Integer(0);
  Result<std::optional<std::string>> got = GetField(ctx, *meta, ctx.args[2]);
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  ctx.out->Integer(got->has_value() ? static_cast<int64_t>((*got)->size()) : 0);
}

void CmdHIncrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (!ParseInt64(ctx.args[3], &delta)) return ctx.out->Error(kErrNotInteger);
  Metadata meta;
  if (!OpenHashForWrite(ctx, ctx.args[1], &meta)) return;
  std::string key = FieldKey(meta.version, ctx.args[2]);
  Result<std::optional<std::string>> old = ctx.txn->GetRaw(key);
  if (!old.ok()) return ReplyStatus(ctx.out, old.status());
  int64_t current = 0;
  if (old->has_value() && !ParseInt64(**old, &current)) {
    return ctx.out->Error("ERR hash value is not an integer");
  }
  if ((delta < 0 && current < 0 && delta < INT64_MIN - current) ||
      (delta > 0 && current > 0 && delta > INT64_MAX - current)) {
    return ctx.out->Error("ERR increment or decrement would overflow");
  }
  int64_t result = current + delta;
  ctx.txn->PutRaw(key, std::to_string(result));
  if (!old->has_value()) {
    meta.count++;
    ctx.txn->PutMeta(ctx.args[1], meta);
  } else {
    ctx.txn->PutMeta(ctx.args[1], meta);  // a write to the key, for WATCH
  }
  ctx.out->Integer(result);
}

void CmdHIncrByFloat(CommandContext& ctx) {
  long double delta = 0;
  if (!ParseLongDouble(ctx.args[3], &delta)) return ctx.out->Error(kErrNotFloat);
  Metadata meta;
  if (!OpenHashForWrite(ctx, ctx.args[1], &meta)) return;
  std::string key = FieldKey(meta.version, ctx.args[2]);
  Result<std::optional<std::string>> old = ctx.txn->GetRaw(key);
  if (!old.ok()) return ReplyStatus(ctx.out, old.status());
  long double current = 0;
  if (old->has_value() && !ParseLongDouble(**old, &current)) {
    return ctx.out->Error("ERR hash value is not a float");
  }
  long double result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    return ctx.out->Error("ERR increment would produce NaN or Infinity");
  }
  std::string text = FormatLongDouble(result);
  ctx.txn->PutRaw(key, text);
  if (!old->has_value()) meta.count++;
  ctx.txn->PutMeta(ctx.args[1], meta);
  ctx.out->Bulk(text);
}

void CmdHScan(CommandContext& ctx) {
  const auto& a = ctx.args;
  ScanOptions scan;
  if (!ParseScanOptions(ctx, 2, ScanOptions::kNoValues, &scan)) return;
  std::optional<Metadata> meta;
  if (!ReadHash(ctx, a[1], &meta)) return;
  std::optional<std::string> start_after;
  if (!FindScanStart(ctx, scan.cursor, &start_after)) return;
  std::vector<std::pair<std::string, std::string>> items;
  bool more = false;
  std::string last;
  if (meta) {
    const size_t budget = scan.budget();
    size_t prefix = FieldPrefix(meta->version).size();
    size_t examined = 0;
    // A cursor saved for another hash version starts nowhere inside this one.
    if (start_after && start_after->compare(0, prefix, FieldPrefix(meta->version)) != 0) {
      start_after = FieldPrefix(meta->version + 1);
    }
    Status s = VisitFields(ctx, *meta, start_after, [&](std::string_view k, std::string_view v) {
      if (examined == budget) {
        more = true;
        return false;
      }
      examined++;
      last = std::string(k);
      std::string_view field = k.substr(prefix);
      if (!scan.pattern || GlobMatch(*scan.pattern, field)) items.emplace_back(field, v);
      return true;
    });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  uint64_t next = more ? ctx.server->cursors.Save(ctx.session->id, last) : 0;
  ctx.out->Array(2);
  ctx.out->Bulk(std::to_string(next));
  ctx.out->Array(items.size() * (scan.novalues ? 1 : 2));
  for (const auto& [k, v] : items) {
    ctx.out->Bulk(k);
    if (!scan.novalues) ctx.out->Bulk(v);
  }
}

}  // namespace cloudkv::server
