// SPDX-License-Identifier: Apache-2.0
// Key commands beyond the basics: COPY, RANDOMKEY, TOUCH and OBJECT.
//
// COPY of a collection copies its element records under a fresh version (O(elements), as in
// Redis). RANDOMKEY seeks to a random point of the key space and takes the next live key
// (wrapping around): O(1) reads plus the expired keys it skips, not a uniform draw. OBJECT
// ENCODING reports the encoding Redis 7.0 would pick for the value as it is now, from the
// encoding tunables CONFIG SET stored (reading at most that many elements); access times and
// frequencies are not tracked, so IDLETIME is 0 and FREQ is a new key's 5 under an LFU policy.
#include <algorithm>
#include <cassert>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

// Copies every element record of `from` under the version of `to`.
Status CopyElements(CommandContext& ctx, const Metadata& from, const Metadata& to) {
  const std::string begin = FieldPrefix(from.version);
  const std::string end = FieldPrefix(from.version + 1);
  const std::string target = FieldPrefix(to.version);
  assert(begin.size() == target.size());
  std::vector<std::pair<std::string, std::string>> records;
  Status s = ctx.txn->Scan(begin, end, std::nullopt, [&](std::string_view k, std::string_view v) {
    records.emplace_back(target + std::string(k.substr(begin.size())), std::string(v));
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& [k, v] : records) ctx.txn->PutRaw(k, v);
  return Status::OK();
}

bool IsIntegerString(std::string_view s) {
  int64_t v = 0;
  return s.size() <= 20 && ParseInt64(s, &v);
}

// Visits at most `limit` element records of a collection.
Status VisitElements(CommandContext& ctx, const Metadata& meta, uint64_t limit,
                     const std::function<bool(std::string_view, std::string_view)>& visit) {
  uint64_t seen = 0;
  return ctx.txn->Scan(FieldPrefix(meta.version), FieldPrefix(meta.version + 1), std::nullopt,
                       [&](std::string_view k, std::string_view v) {
                         return ++seen <= limit && visit(k.substr(9), v);
                       });
}

Result<std::string> Encoding(CommandContext& ctx, const Metadata& meta) {
  auto tunable = [&](std::string_view name) {
    int64_t v = 0;
    return ParseInt64(ctx.server->tunables.Get(name), &v) ? v : 0;
  };
  switch (meta.type) {
    case ValueType::kString:
      if (IsIntegerString(meta.value)) return std::string("int");
      return std::string(meta.value.size() <= 44 ? "embstr" : "raw");
    case ValueType::kList:
      return std::string("quicklist");
    case ValueType::kSet: {
      const int64_t entries = tunable("set-max-intset-entries");
      if (static_cast<int64_t>(meta.count) > entries) return std::string("hashtable");
      bool ints = true;
      Status s = VisitElements(ctx, meta, meta.count, [&](std::string_view member, auto) {
        ints = IsIntegerString(member);
        return ints;
      });
      if (!s.ok()) return s;
      return std::string(ints ? "intset" : "hashtable");
    }
    case ValueType::kHash:
    case ValueType::kZSet: {
      const bool hash = meta.type == ValueType::kHash;
      const int64_t entries =
          tunable(hash ? "hash-max-listpack-entries" : "zset-max-listpack-entries");
      const int64_t max_value =
          tunable(hash ? "hash-max-listpack-value" : "zset-max-listpack-value");
      const char* big = hash ? "hashtable" : "skiplist";
      if (static_cast<int64_t>(meta.count) > entries) return std::string(big);
      bool small = true;
      Status s = VisitElements(ctx, meta, hash ? meta.count : 2 * meta.count,
                               [&](std::string_view element, std::string_view value) {
                                 if (!hash && element.empty()) return true;
                                 std::string_view name = hash ? element : element.substr(1);
                                 if (!hash && element[0] != redis::kZSetMemberTag) return true;
                                 small = static_cast<int64_t>(name.size()) <= max_value &&
                                         (!hash || static_cast<int64_t>(value.size()) <= max_value);
                                 return small;
                               });
      if (!s.ok()) return s;
      return std::string(small ? "listpack" : big);
    }
  }
  return std::string("raw");
}

// The next live key after `after` (exclusive) below `upper`, if any.
Result<std::optional<std::string>> NextLiveKey(CommandContext& ctx,
                                               const std::optional<std::string>& after,
                                               const std::string& upper) {
  std::optional<std::string> found;
  Status decode_error;
  Status s = ctx.txn->Scan(std::string(1, kMetaPrefix), upper, after,
                           [&](std::string_view key, std::string_view value) {
                             Result<Metadata> meta = DecodeMetadata(key.substr(1), value);
                             if (!meta.ok()) {
                               decode_error = meta.status();
                               return false;
                             }
                             if (meta->ExpiredAt(ctx.txn->now_ms())) return true;
                             found = std::string(key.substr(1));
                             return false;
                           });
  if (!s.ok()) return s;
  if (!decode_error.ok()) return decode_error;
  return found;
}

}  // namespace

void CmdCopy(CommandContext& ctx) {
  const auto& a = ctx.args;
  bool replace = false;
  for (size_t i = 3; i < a.size(); i++) {
    if (EqualsIgnoreCase(a[i], "replace")) {
      replace = true;
    } else if (EqualsIgnoreCase(a[i], "db") && i + 1 < a.size()) {
      int64_t db = 0;
      if (!ParseInt64(a[++i], &db)) return ctx.out->Error(kErrNotInteger);
      // One database (CONFIG GET databases says 1).
      if (db != 0) return ctx.out->Error("ERR DB index is out of range");
    } else {
      return ctx.out->Error(kErrSyntax);
    }
  }
  if (a[1] == a[2]) return ctx.out->Error("ERR source and destination objects are the same");
  Result<std::optional<Metadata>> src = ctx.txn->GetMeta(a[1]);
  if (!src.ok()) return ReplyStatus(ctx.out, src.status());
  if (!src->has_value()) return ctx.out->Integer(0);
  Result<std::optional<Metadata>> dst = ctx.txn->GetMeta(a[2]);
  if (!dst.ok()) return ReplyStatus(ctx.out, dst.status());
  if (dst->has_value()) {
    if (!replace) return ctx.out->Integer(0);
    ctx.txn->DeleteKey(a[2], **dst);
  }
  Metadata copy = **src;
  if (IsCollection(copy.type)) {
    copy.version = ctx.server->versions.Next();
    Status s = CopyElements(ctx, **src, copy);
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  ctx.txn->PutMeta(a[2], copy);
  if (copy.type == ValueType::kList || copy.type == ValueType::kZSet) {
    ServeBlockedClients(ctx, a[2]);
  }
  ctx.out->Integer(1);
}

void CmdRandomKey(CommandContext& ctx) {
  std::string start(1, kMetaPrefix);
  const uint64_t r = RandomU64();
  for (int i = 0; i < 8; i++) start.push_back(static_cast<char>(r >> (56 - 8 * i)));
  const std::string end(1, kMetaEnd);
  Result<std::optional<std::string>> found = NextLiveKey(ctx, start, end);
  if (found.ok() && !found->has_value()) {
    found = NextLiveKey(ctx, std::nullopt, end);  // wrap around
  }
  if (!found.ok()) return ReplyStatus(ctx.out, found.status());
  if (!found->has_value()) return ctx.out->Null();
  ctx.out->Bulk(**found);
}

void CmdTouch(CommandContext& ctx) {
  int64_t count = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[i]);
    if (!got.ok()) return ReplyStatus(ctx.out, got.status());
    if (got->has_value()) count++;
  }
  ctx.out->Integer(count);
}

void CmdObject(CommandContext& ctx) {
  const auto& a = ctx.args;
  const std::string sub = Lower(a[1]);
  if (sub == "help" && a.size() == 2) {
    static const char* const kHelp[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    ctx.out->Array(std::size(kHelp));
    for (const char* line : kHelp) ctx.out->Simple(line);
    return;
  }
  const bool known = sub == "encoding" || sub == "freq" || sub == "idletime" || sub == "refcount";
  if (!known) return ctx.out->Error("ERR unknown subcommand '" + a[1] + "'. Try OBJECT HELP.");
  if (a.size() != 3) {
    return ctx.out->Error("ERR wrong number of arguments for 'object|" + sub + "' command");
  }
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(a[2]);
  if (!got.ok()) return ReplyStatus(ctx.out, got.status());
  if (!got->has_value()) return ctx.out->Null();
  const bool lfu = ctx.server->tunables.Get("maxmemory-policy").find("lfu") != std::string::npos;
  if (sub == "encoding") {
    Result<std::string> encoding = Encoding(ctx, **got);
    if (!encoding.ok()) return ReplyStatus(ctx.out, encoding.status());
    return ctx.out->Bulk(*encoding);
  }
  if (sub == "refcount") return ctx.out->Integer(1);
  if (sub == "idletime") {
    if (lfu) {
      return ctx.out->Error(
          "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
          "when switching between policies at runtime LRU and LFU data will take some time to "
          "adjust.");
    }
    return ctx.out->Integer(0);
  }
  if (!lfu) {
    return ctx.out->Error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
        "note that when switching between policies at runtime LRU and LFU data will take some "
        "time to adjust.");
  }
  // Not tracked: every key reads as new (Redis's initial LFU counter).
  ctx.out->Integer(5);
}

}  // namespace cloudkv::server
