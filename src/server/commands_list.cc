// SPDX-License-Identifier: Apache-2.0
// List commands. A list is a metadata record (version, length, head index, expiry) plus one
// record per element at ListElementKey(version, head + position) (key_encoding.h): pushes and
// pops at either end, LINDEX and LSET touch one record; LRANGE reads just its range; LTRIM and
// multi-element pops delete with one range deletion. LINSERT and LREM rewrite the elements
// after the change (Redis's cost is O(N) too).
#include <algorithm>
#include <climits>
#include <cmath>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

// Pops of at most this many elements delete them one by one rather than with a range deletion.
constexpr uint64_t kPointDeleteMax = 16;

constexpr std::string_view kErrNotPositive = "ERR value is out of range, must be positive";

std::string Elem(const Metadata& meta, uint64_t position) {
  return ListElementKey(meta.version, meta.head + position);
}

// Visits the elements at positions [first, last] in order.
Status VisitRange(CommandContext& ctx, const Metadata& meta, uint64_t first, uint64_t last,
                  const std::function<bool(uint64_t position, std::string_view value)>& visit) {
  assert(first <= last && last < meta.count);
  const size_t prefix = FieldPrefix(meta.version).size();
  return ctx.txn->Scan(Elem(meta, first), Elem(meta, last + 1), std::nullopt,
                       [&](std::string_view key, std::string_view value) {
                         uint64_t index = 0;
                         for (size_t i = prefix; i < key.size(); i++) {
                           index = (index << 8) | static_cast<uint8_t>(key[i]);
                         }
                         return visit(index - meta.head, value);
                       });
}

// Pops up to `n` elements from one end, in pop order, with one range deletion. Writes the
// metadata (or deletes the key once empty).
Status PopElements(CommandContext& ctx, std::string_view key, Metadata* meta, bool left, uint64_t n,
                   std::vector<std::string>* out) {
  n = std::min(n, meta->count);
  if (n == 0) return Status::OK();
  const uint64_t first = left ? 0 : meta->count - n;
  const uint64_t last = first + n - 1;
  Status s = VisitRange(ctx, *meta, first, last, [&](uint64_t, std::string_view value) {
    out->emplace_back(value);
    return true;
  });
  if (!s.ok()) return s;
  if (!left) std::reverse(out->begin(), out->end());
  // A few elements get point deletes: every range tombstone stays in the memtable until a
  // flush and is consulted by each later read, so a queue popped one element at a time would
  // slow down with every pop.
  if (n <= kPointDeleteMax) {
    for (uint64_t i = first; i <= last; i++) ctx.txn->DeleteRaw(Elem(*meta, i));
  } else {
    ctx.txn->DeleteRangeRaw(Elem(*meta, first), Elem(*meta, last + 1));
  }
  if (left) meta->head += n;
  meta->count -= n;
  StoreCollection(ctx, key, *meta);
  return Status::OK();
}

void PushElements(CommandContext& ctx, std::string_view key, Metadata* meta, bool left,
                  std::span<const std::string> values) {
  for (const std::string& value : values) {
    if (left) {
      meta->head--;
      ctx.txn->PutRaw(Elem(*meta, 0), value);
    } else {
      ctx.txn->PutRaw(Elem(*meta, meta->count), value);
    }
    meta->count++;
  }
  ctx.txn->PutMeta(key, *meta);
}

bool ParseSide(std::string_view arg, bool* left) {
  if (EqualsIgnoreCase(arg, "left")) {
    *left = true;
  } else if (EqualsIgnoreCase(arg, "right")) {
    *left = false;
  } else {
    return false;
  }
  return true;
}

void PushGeneric(CommandContext& ctx, bool left, bool only_if_exists) {
  Metadata meta;
  bool created = false;
  if (!OpenCollection(ctx, ctx.args[1], ValueType::kList, &meta, &created)) return;
  if (only_if_exists && created) return ctx.out->Integer(0);
  PushElements(ctx, ctx.args[1], &meta, left, std::span(ctx.args).subspan(2));
  const int64_t length = static_cast<int64_t>(meta.count);
  ServeBlockedClients(ctx, ctx.args[1]);
  ctx.out->Integer(length);
}

void PopGeneric(CommandContext& ctx, bool left) {
  const auto& a = ctx.args;
  if (a.size() > 3) {
    return ctx.out->Error("ERR wrong number of arguments for '" + Lower(a[0]) + "' command");
  }
  int64_t count = 1;
  const bool with_count = a.size() == 3;
  if (with_count) {
    if (!ParseInt64(a[2], &count) || count < 0) return ctx.out->Error(kErrNotPositive);
  }
  Metadata meta;
  std::optional<Metadata> got;
  if (!ReadTyped(ctx, a[1], ValueType::kList, &got)) return;
  if (!got) return with_count ? ctx.out->NullArray() : ctx.out->Null();
  meta = std::move(*got);
  std::vector<std::string> popped;
  Status s = PopElements(ctx, a[1], &meta, left, static_cast<uint64_t>(count), &popped);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  if (!with_count) return ctx.out->Bulk(popped.front());
  ctx.out->Array(popped.size());
  for (const auto& v : popped) ctx.out->Bulk(v);
}

// LMOVE/RPOPLPUSH and a served BLMOVE: pops from `source`, pushes onto `destination`.
// `*moved` is false (nothing replied) when the source is empty.
void MoveGeneric(CommandContext& ctx, const std::string& source, const std::string& destination,
                 bool from_left, bool to_left, bool* moved) {
  *moved = false;
  std::optional<Metadata> src;
  if (!ReadTyped(ctx, source, ValueType::kList, &src)) return;
  if (!src) return;
  std::optional<Metadata> dst;
  if (!ReadTyped(ctx, destination, ValueType::kList, &dst)) return;
  std::vector<std::string> popped;
  Status s = PopElements(ctx, source, &*src, from_left, 1, &popped);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  Metadata target;
  if (!OpenCollection(ctx, destination, ValueType::kList, &target)) return;
  PushElements(ctx, destination, &target, to_left, std::span(popped));
  ServeBlockedClients(ctx, destination);
  *moved = true;
  ctx.out->Bulk(popped.front());
}

// BLPOP/BRPOP: pops from the first non-empty key, or blocks.
void BlockingPop(CommandContext& ctx, bool left) {
  const auto& a = ctx.args;
  uint64_t timeout_ms = 0;
  if (!ParseTimeout(ctx, a.back(), &timeout_ms)) return;
  for (size_t i = 1; i + 1 < a.size(); i++) {
    std::optional<Metadata> got;
    if (!ReadTyped(ctx, a[i], ValueType::kList, &got)) return;
    if (!got) continue;
    std::vector<std::string> popped;
    Status s = PopElements(ctx, a[i], &*got, left, 1, &popped);
    if (!s.ok()) return ReplyStatus(ctx.out, s);
    ctx.out->Array(2);
    ctx.out->Bulk(a[i]);
    ctx.out->Bulk(popped.front());
    return;
  }
  if (!ctx.session->may_block) return ctx.out->NullArray();
  Session::BlockRequest request;
  request.keys.assign(a.begin() + 1, a.end() - 1);
  request.timeout_ms = timeout_ms;
  request.mode = static_cast<uint8_t>(left ? BlockingRegistry::Mode::kPopLeft
                                           : BlockingRegistry::Mode::kPopRight);
  ctx.session->block = std::move(request);
}

void BlockingMove(CommandContext& ctx, const std::string& source, const std::string& destination,
                  bool from_left, bool to_left, std::string_view timeout) {
  uint64_t timeout_ms = 0;
  if (!ParseTimeout(ctx, timeout, &timeout_ms)) return;
  bool moved = false;
  const size_t errors = ctx.out->errors();
  MoveGeneric(ctx, source, destination, from_left, to_left, &moved);
  if (moved || ctx.out->errors() != errors) return;
  if (!ctx.session->may_block) return ctx.out->Null();
  Session::BlockRequest request;
  request.keys = {source};
  request.timeout_ms = timeout_ms;
  request.mode = static_cast<uint8_t>(BlockingRegistry::Mode::kRetry);
  ctx.session->block = std::move(request);
}

}  // namespace

bool ParseTimeout(CommandContext& ctx, std::string_view arg, uint64_t* timeout_ms) {
  long double seconds = 0;
  if (!ParseLongDouble(arg, &seconds) || std::isinf(seconds)) {
    ctx.out->Error("ERR timeout is not a float or out of range");
    return false;
  }
  if (seconds < 0) {
    ctx.out->Error("ERR timeout is negative");
    return false;
  }
  long double ms = std::ceil(seconds * 1000);
  if (ms > static_cast<long double>(INT64_MAX / 2)) {
    ctx.out->Error("ERR timeout is out of range");
    return false;
  }
  *timeout_ms = static_cast<uint64_t>(ms);
  return true;
}

void ServeBlockedClients(CommandContext& ctx, const std::string& key) {
  if (ctx.server->blocking.empty()) return;
  if (ctx.session->in_exec) {
    // Redis serves blocked clients after the whole transaction.
    ctx.session->serve_after_exec.push_back(key);
    return;
  }
  Result<std::optional<Metadata>> read = ctx.txn->GetMeta(key);
  if (!read.ok() || !read->has_value()) return;
  if ((*read)->type == ValueType::kZSet) return ServeZSetWaiters(ctx, key, std::move(**read));
  if ((*read)->type != ValueType::kList) return;
  Metadata meta = std::move(**read);
  while (meta.count > 0) {
    std::optional<BlockingRegistry::Waiter> waiter = ctx.server->blocking.TakeOldest(key, false);
    if (!waiter) break;
    if (waiter->mode == BlockingRegistry::Mode::kRetry) {
      // It runs its command again under its own locks (it serves the next waiter then).
      waiter->deliver(std::nullopt);
      break;
    }
    std::vector<std::string> popped;
    const bool left = waiter->mode == BlockingRegistry::Mode::kPopLeft;
    if (!PopElements(ctx, key, &meta, left, 1, &popped).ok()) {
      waiter->deliver(std::nullopt);  // let it try for itself
      break;
    }
    ReplyWriter reply(waiter->protocol);
    reply.Array(2);
    reply.Bulk(key);
    reply.Bulk(popped.front());
    waiter->deliver(std::move(reply.buffer()));
  }
}

void CmdLPush(CommandContext& ctx) { PushGeneric(ctx, true, false); }
void CmdRPush(CommandContext& ctx) { PushGeneric(ctx, false, false); }
void CmdLPushX(CommandContext& ctx) { PushGeneric(ctx, true, true); }
void CmdRPushX(CommandContext& ctx) { PushGeneric(ctx, false, true); }
void CmdLPop(CommandContext& ctx) { PopGeneric(ctx, true); }
void CmdRPop(CommandContext& ctx) { PopGeneric(ctx, false); }

void CmdLLen(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kList, &meta)) return;
  ctx.out->Integer(meta ? static_cast<int64_t>(meta->count) : 0);
}

void CmdLRange(CommandContext& ctx) {
  int64_t start = 0, stop = 0;
  if (!ParseInt64(ctx.args[2], &start) || !ParseInt64(ctx.args[3], &stop)) {
    return ctx.out->Error(kErrNotInteger);
  }
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kList, &meta)) return;
  uint64_t first = 0, last = 0;
  if (!meta || !NormalizeRange(start, stop, meta->count, &first, &last)) {
    return ctx.out->Array(0);
  }
  std::vector<std::string> values;
  values.reserve(std::min<uint64_t>(last - first + 1, 1024));
  Status s = VisitRange(ctx, *meta, first, last, [&](uint64_t, std::string_view value) {
    values.emplace_back(value);
    return true;
  });
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  ctx.out->Array(values.size());
  for (const auto& v : values) ctx.out->Bulk(v);
}

void CmdLIndex(CommandContext& ctx) {
  int64_t index = 0;
  if (!ParseInt64(ctx.args[2], &index)) return ctx.out->Error(kErrNotInteger);
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kList, &meta)) return;
  if (!meta) return ctx.out->Null();
  const int64_t n = static_cast<int64_t>(meta->count);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return ctx.out->Null();
  Result<std::optional<std::string>> got =
      ctx.txn->GetRaw(Elem(*meta, static_cast<uint64_t>(index)));
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  if (!got->has_value()) return ctx.out->Null();
  ctx.out->Bulk(**got);
}

void CmdLSet(CommandContext& ctx) {
  int64_t index = 0;
  if (!ParseInt64(ctx.args[2], &index)) return ctx.out->Error(kErrNotInteger);
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kList, &meta)) return;
  if (!meta) return ctx.out->Error("ERR no such key");
  const int64_t n = static_cast<int64_t>(meta->count);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return ctx.out->Error("ERR index out of range");
  ctx.txn->PutRaw(Elem(*meta, static_cast<uint64_t>(index)), ctx.args[3]);
  ctx.txn->PutMeta(ctx.args[1], *meta);  // a write to the key, for WATCH
  ctx.out->Simple("OK");
}

void CmdLInsert(CommandContext& ctx) {
  const auto& a = ctx.args;
  bool before = false;
  if (EqualsIgnoreCase(a[2], "before")) {
    before = true;
  } else if (!EqualsIgnoreCase(a[2], "after")) {
    return ctx.out->Error(kErrSyntax);
  }
  std::optional<Metadata> got;
  if (!ReadTyped(ctx, a[1], ValueType::kList, &got)) return;
  if (!got) return ctx.out->Integer(0);
  Metadata meta = std::move(*got);
  std::optional<uint64_t> pivot;
  Status s = VisitRange(ctx, meta, 0, meta.count - 1, [&](uint64_t position, std::string_view v) {
    if (v != a[3]) return true;
    pivot = position;
    return false;
  });
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  if (!pivot) return ctx.out->Integer(-1);
  const uint64_t at = before ? *pivot : *pivot + 1;  // the new element's position
  // Shift the shorter side outwards by one.
  if (at <= meta.count - at) {
    std::vector<std::string> head_side;
    if (at > 0) {
      s = VisitRange(ctx, meta, 0, at - 1, [&](uint64_t, std::string_view v) {
        head_side.emplace_back(v);
        return true;
      });
      if (!s.ok()) return ReplyStatus(ctx.out, s);
    }
    meta.head--;
    for (uint64_t i = 0; i < head_side.size(); i++) ctx.txn->PutRaw(Elem(meta, i), head_side[i]);
    ctx.txn->PutRaw(Elem(meta, at), a[4]);
  } else {
    std::vector<std::string> tail_side;
    if (at < meta.count) {
      s = VisitRange(ctx, meta, at, meta.count - 1, [&](uint64_t, std::string_view v) {
        tail_side.emplace_back(v);
        return true;
      });
      if (!s.ok()) return ReplyStatus(ctx.out, s);
    }
    ctx.txn->PutRaw(Elem(meta, at), a[4]);
    for (uint64_t i = 0; i < tail_side.size(); i++) {
      ctx.txn->PutRaw(Elem(meta, at + 1 + i), tail_side[i]);
    }
  }
  meta.count++;
  ctx.txn->PutMeta(a[1], meta);
  ServeBlockedClients(ctx, a[1]);
  ctx.out->Integer(static_cast<int64_t>(meta.count));
}

void CmdLRem(CommandContext& ctx) {
  const auto& a = ctx.args;
  int64_t count = 0;
  if (!ParseInt64(a[2], &count)) return ctx.out->Error(kErrNotInteger);
  std::optional<Metadata> got;
  if (!ReadTyped(ctx, a[1], ValueType::kList, &got)) return;
  if (!got) return ctx.out->Integer(0);
  Metadata meta = std::move(*got);
  std::vector<uint64_t> matches;
  Status s = VisitRange(ctx, meta, 0, meta.count - 1, [&](uint64_t position, std::string_view v) {
    if (v == a[3]) matches.push_back(position);
    return count <= 0 || matches.size() < static_cast<uint64_t>(count);
  });
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  if (count < 0 && matches.size() > static_cast<uint64_t>(-(count + 1)) + 1) {
    matches.erase(matches.begin(), matches.end() - static_cast<std::ptrdiff_t>(
                                                       static_cast<uint64_t>(-(count + 1)) + 1));
  }
  if (matches.empty()) return ctx.out->Integer(0);
  // Compact the elements from the first removed one on, then cut the tail.
  uint64_t write = matches.front();
  size_t next_match = 0;
  s = VisitRange(ctx, meta, matches.front(), meta.count - 1,
                 [&](uint64_t position, std::string_view v) {
                   if (next_match < matches.size() && matches[next_match] == position) {
                     next_match++;
                   } else {
                     if (write != position) ctx.txn->PutRaw(Elem(meta, write), v);
                     write++;
                   }
                   return true;
                 });
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  ctx.txn->DeleteRangeRaw(Elem(meta, write), Elem(meta, meta.count));
  meta.count = write;
  StoreCollection(ctx, a[1], meta);
  ctx.out->Integer(static_cast<int64_t>(matches.size()));
}

void CmdLTrim(CommandContext& ctx) {
  int64_t start = 0, stop = 0;
  if (!ParseInt64(ctx.args[2], &start) || !ParseInt64(ctx.args[3], &stop)) {
    return ctx.out->Error(kErrNotInteger);
  }
  std::optional<Metadata> got;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kList, &got)) return;
  if (!got) return ctx.out->Simple("OK");
  Metadata meta = std::move(*got);
  uint64_t first = 0, last = 0;
  if (!NormalizeRange(start, stop, meta.count, &first, &last)) {
    ctx.txn->DeleteKey(ctx.args[1], meta);
    return ctx.out->Simple("OK");
  }
  if (first > 0) ctx.txn->DeleteRangeRaw(Elem(meta, 0), Elem(meta, first));
  if (last + 1 < meta.count) ctx.txn->DeleteRangeRaw(Elem(meta, last + 1), Elem(meta, meta.count));
  meta.head += first;
  meta.count = last - first + 1;
  ctx.txn->PutMeta(ctx.args[1], meta);
  ctx.out->Simple("OK");
}

void CmdLPos(CommandContext& ctx) {
  const auto& a = ctx.args;
  int64_t rank = 1, count = -1, maxlen = 0;
  for (size_t i = 3; i < a.size(); i++) {
    if (i + 1 >= a.size()) return ctx.out->Error(kErrSyntax);
    int64_t v = 0;
    if (EqualsIgnoreCase(a[i], "rank")) {
      if (!ParseInt64(a[++i], &v)) return ctx.out->Error(kErrNotInteger);
      if (v == 0) {
        return ctx.out->Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
      }
      if (v == INT64_MIN) return ctx.out->Error(kErrNotInteger);
      rank = v;
    } else if (EqualsIgnoreCase(a[i], "count")) {
      if (!ParseInt64(a[++i], &v)) return ctx.out->Error(kErrNotInteger);
      if (v < 0) return ctx.out->Error("ERR COUNT can't be negative");
      count = v;
    } else if (EqualsIgnoreCase(a[i], "maxlen")) {
      if (!ParseInt64(a[++i], &v)) return ctx.out->Error(kErrNotInteger);
      if (v < 0) return ctx.out->Error("ERR MAXLEN can't be negative");
      maxlen = v;
    } else {
      return ctx.out->Error(kErrSyntax);
    }
  }
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kList, &meta)) return;
  const bool with_count = count >= 0;
  const uint64_t want = count > 0 ? static_cast<uint64_t>(count) : UINT64_MAX;
  std::vector<int64_t> found;
  if (meta && meta->count > 0) {
    const uint64_t span =
        maxlen == 0 ? meta->count : std::min<uint64_t>(meta->count, static_cast<uint64_t>(maxlen));
    const uint64_t first = rank > 0 ? 0 : meta->count - span;
    const uint64_t last = rank > 0 ? span - 1 : meta->count - 1;
    const uint64_t skip = static_cast<uint64_t>(rank > 0 ? rank : -rank) - 1;
    std::vector<uint64_t> matches;
    uint64_t seen = 0;
    Status s = VisitRange(ctx, *meta, first, last, [&](uint64_t position, std::string_view v) {
      if (v != a[2]) return true;
      if (rank < 0) {
        matches.push_back(position);
        return true;
      }
      if (seen++ >= skip) matches.push_back(position);
      return matches.size() < want;
    });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
    if (rank > 0) {
      found.assign(matches.begin(), matches.end());
    } else {
      for (size_t i = matches.size(); i > 0 && found.size() < want; i--) {
        if (matches.size() - i >= skip) found.push_back(static_cast<int64_t>(matches[i - 1]));
      }
    }
  }
  if (!with_count) return found.empty() ? ctx.out->Null() : ctx.out->Integer(found.front());
  ctx.out->Array(found.size());
  for (int64_t position : found) ctx.out->Integer(position);
}

void CmdLMove(CommandContext& ctx) {
  bool from_left = false, to_left = false;
  if (!ParseSide(ctx.args[3], &from_left) || !ParseSide(ctx.args[4], &to_left)) {
    return ctx.out->Error(kErrSyntax);
  }
  bool moved = false;
  const size_t errors = ctx.out->errors();
  MoveGeneric(ctx, ctx.args[1], ctx.args[2], from_left, to_left, &moved);
  if (!moved && ctx.out->errors() == errors) ctx.out->Null();
}

void CmdRPopLPush(CommandContext& ctx) {
  bool moved = false;
  const size_t errors = ctx.out->errors();
  MoveGeneric(ctx, ctx.args[1], ctx.args[2], false, true, &moved);
  if (!moved && ctx.out->errors() == errors) ctx.out->Null();
}

void CmdBLPop(CommandContext& ctx) { BlockingPop(ctx, true); }
void CmdBRPop(CommandContext& ctx) { BlockingPop(ctx, false); }

void CmdBLMove(CommandContext& ctx) {
  bool from_left = false, to_left = false;
  if (!ParseSide(ctx.args[3], &from_left) || !ParseSide(ctx.args[4], &to_left)) {
    return ctx.out->Error(kErrSyntax);
  }
  BlockingMove(ctx, ctx.args[1], ctx.args[2], from_left, to_left, ctx.args[5]);
}

void CmdBRPopLPush(CommandContext& ctx) {
  BlockingMove(ctx, ctx.args[1], ctx.args[2], false, true, ctx.args[3]);
}

}  // namespace cloudkv::server
