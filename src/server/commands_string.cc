// SPDX-License-Identifier: Apache-2.0
// String commands: GET, SET and friends, counters, ranges.
#include <climits>
#include <cmath>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

constexpr uint64_t kMaxStringBytes = 512ull << 20;  // proto-max-bulk-len
constexpr std::string_view kErrTooBig =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

Metadata StringMeta(std::string value, uint64_t expire_at_ms) {
  Metadata meta;
  meta.type = ValueType::kString;
  meta.value = std::move(value);
  meta.expire_at_ms = expire_at_ms;
  return meta;
}

void CountHit(CommandContext& ctx, bool hit) {
  (hit ? ctx.server->keyspace_hits : ctx.server->keyspace_misses)++;
}

// Writes a string key, or deletes it when the deadline has already passed.
void StoreString(CommandContext& ctx, std::string_view key, std::string_view value,
                 uint64_t expire_at_ms) {
  if (expire_at_ms != 0 && expire_at_ms <= ctx.txn->now_ms()) {
    ctx.txn->DeleteMeta(key);
  } else {
    ctx.txn->PutString(key, value, expire_at_ms);
  }
}

void IncrByGeneric(CommandContext& ctx, std::string_view key, int64_t delta) {
  std::optional<Metadata> meta;
  if (!ReadString(ctx, key, &meta)) return;
  int64_t current = 0;
  if (meta && !ParseInt64(meta->value, &current)) {
    ctx.out->Error(kErrNotInteger);
    return;
  }
  if ((delta < 0 && current < 0 && delta < INT64_MIN - current) ||
      (delta > 0 && current > 0 && delta > INT64_MAX - current)) {
    ctx.out->Error("ERR increment or decrement would overflow");
    return;
  }
  int64_t result = current + delta;
  ctx.txn->PutMeta(key, StringMeta(std::to_string(result), meta ? meta->expire_at_ms : 0));
  ctx.out->Integer(result);
}

// Whether a string value of `size` bytes may be stored: within proto-max-bulk-len (Redis's
// rule and message) and within the engine's value limit (less the metadata header). False
// after replying the error.
bool CheckStringSize(CommandContext& ctx, uint64_t size) {
  if (size > kMaxStringBytes) {
    ctx.out->Error(kErrTooBig);
    return false;
  }
  constexpr uint64_t kHeaderBytes = 16;
  const uint64_t engine_limit = ctx.server->config.engine_max_value_bytes;
  if (size + kHeaderBytes > engine_limit) {
    ctx.out->Error("ERR string of " + std::to_string(size) +
                   " bytes exceeds the maximum value size (" + std::to_string(engine_limit) +
                   " bytes with its header, --max-value-bytes)");
    return false;
  }
  return true;
}

}  // namespace

bool ParseExpiry(CommandContext& ctx, std::string_view option, std::string_view value,
                 std::string_view command, uint64_t* deadline_ms) {
  int64_t v = 0;
  if (!ParseInt64(value, &v)) {
    ctx.out->Error(kErrNotInteger);
    return false;
  }
  std::string invalid = "ERR invalid expire time in '" + std::string(command) + "' command";
  if (v <= 0) {
    ctx.out->Error(invalid);
    return false;
  }
  bool seconds = EqualsIgnoreCase(option, "ex") || EqualsIgnoreCase(option, "exat");
  bool relative = EqualsIgnoreCase(option, "ex") || EqualsIgnoreCase(option, "px");
  uint64_t ms = static_cast<uint64_t>(v);
  if (seconds) {
    if (ms > static_cast<uint64_t>(INT64_MAX) / 1000) {
      ctx.out->Error(invalid);
      return false;
    }
    ms *= 1000;
  }
  if (relative) {
    if (ms > static_cast<uint64_t>(INT64_MAX) - ctx.txn->now_ms()) {
      ctx.out->Error(invalid);
      return false;
    }
    ms += ctx.txn->now_ms();
  }
  *deadline_ms = ms;
  return true;
}

void CmdGet(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  CountHit(ctx, meta.has_value());
  if (meta) {
    ctx.out->Bulk(meta->value);
  } else {
    ctx.out->Null();
  }
}

void CmdSet(CommandContext& ctx) {
  const auto& a = ctx.args;
  bool nx = false, xx = false, get = false, keepttl = false;
  std::string_view expiry_option;
  uint64_t deadline = 0;
  for (size_t i = 3; i < a.size(); i++) {
    std::string opt = Lower(a[i]);
    if (opt == "nx" && !xx) {
      nx = true;
    } else if (opt == "xx" && !nx) {
      xx = true;
    } else if (opt == "get") {
      get = true;
    } else if (opt == "keepttl" && expiry_option.empty()) {
      keepttl = true;
    } else if ((opt == "ex" || opt == "px" || opt == "exat" || opt == "pxat") &&
               expiry_option.empty() && !keepttl && i + 1 < a.size()) {
      expiry_option = a[i];
      if (!ParseExpiry(ctx, a[i], a[i + 1], "set", &deadline)) return;
      i++;
    } else {
      ctx.out->Error(kErrSyntax);
      return;
    }
  }
  if (!nx && !xx && !get && !keepttl) {
    // A plain SET does not depend on the old value (any type is overwritten, as MSET does):
    // no read, so no point lookup in the engine.
    StoreString(ctx, a[1], a[2], deadline);
    ctx.out->Simple("OK");
    return;
  }
  Result<std::optional<Metadata>> old = ctx.txn->GetMeta(a[1]);
  if (!old.ok()) {
    ReplyStatus(ctx.out, old.status());
    return;
  }
  bool exists = old->has_value();
  if (get && exists && (*old)->type != ValueType::kString) {
    ctx.out->Error(kErrWrongType);
    return;
  }
  auto reply_old = [&] {
    if (exists) {
      ctx.out->Bulk((*old)->value);
    } else {
      ctx.out->Null();
    }
  };
  if ((nx && exists) || (xx && !exists)) {
    if (get) {
      reply_old();
    } else {
      ctx.out->Null();
    }
    return;
  }
  if (keepttl && exists) deadline = (*old)->expire_at_ms;
  StoreString(ctx, a[1], a[2], deadline);
  if (get) {
    reply_old();
  } else {
    ctx.out->Simple("OK");
  }
}

void CmdSetNx(CommandContext& ctx) {
  Result<std::optional<Metadata>> old = ctx.txn->GetMeta(ctx.args[1]);
  if (!old.ok()) return ReplyStatus(ctx.out, old.status());
  if (old->has_value()) return ctx.out->Integer(0);
  StoreString(ctx, ctx.args[1], ctx.args[2], 0);
  ctx.out->Integer(1);
}

static void SetExGeneric(CommandContext& ctx, std::string_view unit, std::string_view name) {
  uint64_t deadline = 0;
  if (!ParseExpiry(ctx, unit, ctx.args[2], name, &deadline)) return;
  StoreString(ctx, ctx.args[1], ctx.args[3], deadline);
  ctx.out->Simple("OK");
}

void CmdSetEx(CommandContext& ctx) { SetExGeneric(ctx, "ex", "setex"); }
void CmdPSetEx(CommandContext& ctx) { SetExGeneric(ctx, "px", "psetex"); }

void CmdGetSet(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  StoreString(ctx, ctx.args[1], ctx.args[2], 0);
  if (meta) {
    ctx.out->Bulk(meta->value);
  } else {
    ctx.out->Null();
  }
}

void CmdGetDel(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  if (!meta) return ctx.out->Null();
  ctx.txn->DeleteMeta(ctx.args[1]);
  ctx.out->Bulk(meta->value);
}

void CmdGetEx(CommandContext& ctx) {
  const auto& a = ctx.args;
  bool persist = false;
  bool has_expiry = false;
  uint64_t deadline = 0;
  for (size_t i = 2; i < a.size(); i++) {
    std::string opt = Lower(a[i]);
    if ((opt == "ex" || opt == "px" || opt == "exat" || opt == "pxat") && !has_expiry && !persist &&
        i + 1 < a.size()) {
      if (!ParseExpiry(ctx, a[i], a[i + 1], "getex", &deadline)) return;
      has_expiry = true;
      i++;
    } else if (opt == "persist" && !has_expiry && !persist) {
      persist = true;
    } else {
      return ctx.out->Error(kErrSyntax);
    }
  }
  std::optional<Metadata> meta;
  if (!ReadString(ctx, a[1], &meta)) return;
  if (!meta) return ctx.out->Null();
  if (has_expiry) {
    StoreString(ctx, a[1], meta->value, deadline);
  } else if (persist && meta->expire_at_ms != 0) {
    StoreString(ctx, a[1], meta->value, 0);
  }
  ctx.out->Bulk(meta->value);
}

void CmdMGet(CommandContext& ctx) {
  ctx.out->Array(ctx.args.size() - 1);
  for (size_t i = 1; i < ctx.args.size(); i++) {
    Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[i]);
    if (got.ok() && got->has_value() && (*got)->type == ValueType::kString) {
      ctx.out->Bulk((*got)->value);
    } else {
      ctx.out->Null();
    }
  }
}

void CmdMSet(CommandContext& ctx) {
  if (ctx.args.size() % 2 != 1) {
    return ctx.out->Error("ERR wrong number of arguments for 'mset' command");
  }
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    StoreString(ctx, ctx.args[i], ctx.args[i + 1], 0);
  }
  ctx.out->Simple("OK");
}

void CmdMSetNx(CommandContext& ctx) {
  if (ctx.args.size() % 2 != 1) {
    return ctx.out->Error("ERR wrong number of arguments for 'msetnx' command");
  }
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[i]);
    if (!got.ok()) return ReplyStatus(ctx.out, got.status());
    if (got->has_value()) return ctx.out->Integer(0);
  }
  for (size_t i = 1; i < ctx.args.size(); i += 2) {
    StoreString(ctx, ctx.args[i], ctx.args[i + 1], 0);
  }
  ctx.out->Integer(1);
}

void CmdAppend(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  std::string value = meta ? std::move(meta->value) : std::string();
  if (!CheckStringSize(ctx, value.size() + ctx.args[2].size())) return;
  value.append(ctx.args[2]);
  size_t size = value.size();
  StoreString(ctx, ctx.args[1], std::move(value), meta ? meta->expire_at_ms : 0);
  ctx.out->Integer(static_cast<int64_t>(size));
}

void CmdStrLen(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  ctx.out->Integer(meta ? static_cast<int64_t>(meta->value.size()) : 0);
}

void CmdGetRange(CommandContext& ctx) {
  int64_t start = 0, end = 0;
  if (!ParseInt64(ctx.args[2], &start) || !ParseInt64(ctx.args[3], &end)) {
    return ctx.out->Error(kErrNotInteger);
  }
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  std::string_view value = meta ? std::string_view(meta->value) : std::string_view();
  int64_t len = static_cast<int64_t>(value.size());
  if (start < 0 && end < 0 && start > end) return ctx.out->Bulk("");
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return ctx.out->Bulk("");
  ctx.out->Bulk(value.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

void CmdSetRange(CommandContext& ctx) {
  int64_t offset = 0;
  if (!ParseInt64(ctx.args[2], &offset)) return ctx.out->Error(kErrNotInteger);
  if (offset < 0) return ctx.out->Error("ERR offset is out of range");
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  const std::string& patch = ctx.args[3];
  if (patch.empty()) return ctx.out->Integer(meta ? static_cast<int64_t>(meta->value.size()) : 0);
  // Before anything is allocated: `SETRANGE k 536870000 x` must not build a 512 MB string
  // that the engine then refuses.
  if (!CheckStringSize(ctx, static_cast<uint64_t>(offset) + patch.size())) return;
  std::string value = meta ? std::move(meta->value) : std::string();
  size_t need = static_cast<size_t>(offset) + patch.size();
  if (value.size() < need) value.resize(need, '\0');
  value.replace(static_cast<size_t>(offset), patch.size(), patch);
  size_t size = value.size();
  StoreString(ctx, ctx.args[1], std::move(value), meta ? meta->expire_at_ms : 0);
  ctx.out->Integer(static_cast<int64_t>(size));
}

void CmdIncr(CommandContext& ctx) { IncrByGeneric(ctx, ctx.args[1], 1); }
void CmdDecr(CommandContext& ctx) { IncrByGeneric(ctx, ctx.args[1], -1); }

void CmdIncrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (!ParseInt64(ctx.args[2], &delta)) return ctx.out->Error(kErrNotInteger);
  IncrByGeneric(ctx, ctx.args[1], delta);
}

void CmdDecrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (!ParseInt64(ctx.args[2], &delta)) return ctx.out->Error(kErrNotInteger);
  if (delta == INT64_MIN) return ctx.out->Error("ERR decrement would overflow");
  IncrByGeneric(ctx, ctx.args[1], -delta);
}

void CmdIncrByFloat(CommandContext& ctx) {
  long double delta = 0;
  if (!ParseLongDouble(ctx.args[2], &delta)) return ctx.out->Error(kErrNotFloat);
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  long double current = 0;
  if (meta && !ParseLongDouble(meta->value, &current)) return ctx.out->Error(kErrNotFloat);
  long double result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    return ctx.out->Error("ERR increment would produce NaN or Infinity");
  }
  std::string text = FormatLongDouble(result);
  StoreString(ctx, ctx.args[1], text, meta ? meta->expire_at_ms : 0);
  ctx.out->Bulk(text);
}

}  // namespace cloudkv::server

namespace cloudkv::server {
namespace {

// One common run of LCS IDX: [a_first, a_last] in the first string, [b_first, b_last] in the
// second.
struct LcsMatch {
  uint64_t a_first, a_last, b_first, b_last;
};

}  // namespace

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: dynamic programming over the two
// strings, O(len1 * len2) time and a table of that many 32-bit cells (bounded).
void CmdLcs(CommandContext& ctx) {
  const auto& a = ctx.args;
  std::optional<Metadata> first, second;
  for (int i = 1; i <= 2; i++) {
    Result<std::optional<Metadata>> got = ctx.txn->GetMeta(a[static_cast<size_t>(i)]);
    if (!got.ok()) return ReplyStatus(ctx.out, got.status());
    if (got->has_value() && (*got)->type != ValueType::kString) {
      return ctx.out->Error("ERR The specified keys must contain string values");
    }
    (i == 1 ? first : second) = std::move(got).value();
  }
  bool len_only = false, idx = false, with_match_len = false;
  int64_t min_match_len = 0;
  for (size_t i = 3; i < a.size(); i++) {
    if (EqualsIgnoreCase(a[i], "len")) {
      len_only = true;
    } else if (EqualsIgnoreCase(a[i], "idx")) {
      idx = true;
    } else if (EqualsIgnoreCase(a[i], "withmatchlen")) {
      with_match_len = true;
    } else if (EqualsIgnoreCase(a[i], "minmatchlen") && i + 1 < a.size()) {
      if (!ParseInt64(a[++i], &min_match_len)) return ctx.out->Error(kErrNotInteger);
      if (min_match_len < 0) min_match_len = 0;
    } else {
      return ctx.out->Error(kErrSyntax);
    }
  }
  if (len_only && idx) {
    return ctx.out->Error("ERR If you want both the length and indexes, please just use IDX.");
  }
  const std::string x = first ? std::move(first->value) : std::string();
  const std::string y = second ? std::move(second->value) : std::string();
  const uint64_t rows = x.size() + 1, cols = y.size() + 1;
  constexpr uint64_t kMaxTableBytes = 128ull << 20;
  if (rows > kMaxTableBytes / sizeof(uint32_t) / cols) {
    return ctx.out->Error(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  // table[i * cols + j]: the LCS length of x[0, i) and y[0, j).
  std::vector<uint32_t> table(rows * cols, 0);
  for (uint64_t i = 1; i < rows; i++) {
    for (uint64_t j = 1; j < cols; j++) {
      table[i * cols + j] = x[i - 1] == y[j - 1]
                                ? table[(i - 1) * cols + j - 1] + 1
                                : std::max(table[(i - 1) * cols + j], table[i * cols + j - 1]);
    }
  }
  const uint32_t length = table.back();
  if (len_only) return ctx.out->Integer(length);
  // Walk back from the end: the common subsequence (built backwards) and its runs.
  std::string common(length, '\0');
  std::vector<LcsMatch> matches;
  std::optional<LcsMatch> run;
  auto emit = [&] {
    if (run && static_cast<int64_t>(run->a_last - run->a_first + 1) >= min_match_len) {
      matches.push_back(*run);
    }
    run.reset();
  };
  uint64_t i = x.size(), j = y.size(), k = length;
  while (i > 0 && j > 0) {
    if (x[i - 1] == y[j - 1]) {
      common[--k] = x[i - 1];
      if (run && run->a_first == i && run->b_first == j) {
        run->a_first = i - 1;
        run->b_first = j - 1;
      } else {
        emit();
        run = LcsMatch{i - 1, i - 1, j - 1, j - 1};
      }
      i--;
      j--;
    } else if (table[(i - 1) * cols + j] > table[i * cols + j - 1]) {
      i--;
    } else {
      j--;
    }
  }
  emit();
  if (!idx) return ctx.out->Bulk(common);
  ctx.out->Map(2);
  ctx.out->Bulk("matches");
  ctx.out->Array(matches.size());
  for (const LcsMatch& m : matches) {
    ctx.out->Array(with_match_len ? 3 : 2);
    ctx.out->Array(2);
    ctx.out->Integer(static_cast<int64_t>(m.a_first));
    ctx.out->Integer(static_cast<int64_t>(m.a_last));
    ctx.out->Array(2);
    ctx.out->Integer(static_cast<int64_t>(m.b_first));
    ctx.out->Integer(static_cast<int64_t>(m.b_last));
    if (with_match_len) ctx.out->Integer(static_cast<int64_t>(m.a_last - m.a_first + 1));
  }
  ctx.out->Bulk("len");
  ctx.out->Integer(length);
}

}  // namespace cloudkv::server
