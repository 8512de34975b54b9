// SPDX-License-Identifier: Apache-2.0
// Set commands. A set is a metadata record (version, member count, expiry) plus one record
// per member at FieldKey(version, member) with an empty value (key_encoding.h). Membership is
// one point lookup; SINTER and SDIFF walk the first (SINTER: the smallest) set and look the
// members up in the others; SPOP and SRANDMEMBER seek to a random point of the member range.
#include <algorithm>
#include <climits>
#include <set>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

constexpr std::string_view kErrNotPositive = "ERR value is out of range, must be positive";

Status VisitMembers(CommandContext& ctx, const Metadata& meta,
                    const std::optional<std::string>& start_after,
                    const std::function<bool(std::string_view member)>& visit) {
  const size_t prefix = FieldPrefix(meta.version).size();
  return ctx.txn->Scan(
      FieldPrefix(meta.version), FieldPrefix(meta.version + 1), start_after,
      [&](std::string_view key, std::string_view) { return visit(key.substr(prefix)); });
}

Result<bool> IsMember(CommandContext& ctx, const Metadata& meta, std::string_view member) {
  Result<std::optional<std::string>> got = ctx.txn->GetRaw(FieldKey(meta.version, member));
  if (!got.ok()) return got.status();
  return got->has_value();
}

// Up to `n` distinct members starting at a random point of the set (wrapping around).
Status RandomMembers(CommandContext& ctx, const Metadata& meta, uint64_t n,
                     std::vector<std::string>* out) {
  n = std::min(n, meta.count);
  std::string start = FieldPrefix(meta.version);
  const uint64_t r = RandomU64();
  for (int i = 0; i < 4; i++) start.push_back(static_cast<char>((r >> (8 * i)) & 0xff));
  auto collect = [&](std::string_view member) {
    if (out->size() >= n) return false;
    out->emplace_back(member);
    return true;
  };
  Status s = VisitMembers(ctx, meta, start, collect);
  if (!s.ok() || out->size() >= n) return s;
  const size_t first_pass = out->size();
  s = VisitMembers(ctx, meta, std::nullopt, [&](std::string_view member) {
    // The second pass stops where the first began.
    if (first_pass > 0 && member == (*out)[0]) return false;
    return collect(member);
  });
  return s;
}

// Reads every key of a multi-key command as a set (missing = nullopt). False after replying.
bool ReadSets(CommandContext& ctx, size_t first, size_t end,
              std::vector<std::optional<Metadata>>* sets) {
  for (size_t i = first; i < end; i++) {
    std::optional<Metadata> meta;
    if (!ReadTyped(ctx, ctx.args[i], ValueType::kSet, &meta)) return false;
    sets->push_back(std::move(meta));
  }
  return true;
}

enum class SetOp { kInter, kUnion, kDiff };

// The members of the intersection, union or difference of the sets (in member order), at
// most `limit` of them (0 = all).
Status ComputeSetOp(CommandContext& ctx, SetOp op, const std::vector<std::optional<Metadata>>& sets,
                    uint64_t limit, std::vector<std::string>* out) {
  if (op == SetOp::kUnion) {
    std::set<std::string, std::less<>> members;
    for (const auto& meta : sets) {
      if (!meta) continue;
      Status s = VisitMembers(ctx, *meta, std::nullopt, [&](std::string_view m) {
        members.emplace(m);
        return true;
      });
      if (!s.ok()) return s;
    }
    out->assign(members.begin(), members.end());
    return Status::OK();
  }
  size_t base = 0;
  if (op == SetOp::kInter) {
    for (size_t i = 0; i < sets.size(); i++) {
      if (!sets[i]) return Status::OK();  // a missing key is the empty set
      if (sets[i]->count < sets[base]->count) base = i;
    }
  } else if (!sets[0]) {
    return Status::OK();
  }
  Status inner;
  Status s = VisitMembers(ctx, *sets[base], std::nullopt, [&](std::string_view m) {
    for (size_t i = 0; i < sets.size(); i++) {
      if (i == base || !sets[i]) continue;
      Result<bool> in = IsMember(ctx, *sets[i], m);
      if (!in.ok()) {
        inner = in.status();
        return false;
      }
      if (*in != (op == SetOp::kInter)) return true;
    }
    out->emplace_back(m);
    return limit == 0 || out->size() < limit;
  });
  return s.ok() ? inner : s;
}

void ReplyMembers(CommandContext& ctx, const std::vector<std::string>& members) {
  ctx.out->Set(members.size());
  for (const auto& m : members) ctx.out->Bulk(m);
}

// Replaces `destination` with a new set of `members` (deletes it when empty).
void StoreSet(CommandContext& ctx, const std::string& destination,
              const std::vector<std::string>& members) {
  Status s = DeleteAnyKey(ctx, destination);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  Metadata meta;
  meta.type = ValueType::kSet;
  meta.version = ctx.server->versions.Next();
  for (const auto& m : members) ctx.txn->PutRaw(FieldKey(meta.version, m), "");
  meta.count = members.size();
  StoreCollection(ctx, destination, meta);
  ctx.out->Integer(static_cast<int64_t>(members.size()));
}

void SetOpCommand(CommandContext& ctx, SetOp op, bool store) {
  const size_t first = store ? 2 : 1;
  std::vector<std::optional<Metadata>> sets;
  if (!ReadSets(ctx, first, ctx.args.size(), &sets)) return;
  std::vector<std::string> members;
  Status s = ComputeSetOp(ctx, op, sets, 0, &members);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  if (store) return StoreSet(ctx, ctx.args[1], members);
  ReplyMembers(ctx, members);
}

}  // namespace

void CmdSAdd(CommandContext& ctx) {
  Metadata meta;
  if (!OpenCollection(ctx, ctx.args[1], ValueType::kSet, &meta)) return;
  int64_t added = 0;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    Result<bool> in = IsMember(ctx, meta, ctx.args[i]);
    if (!in.ok()) return ReplyStatus(ctx.out, in.status());
    if (*in) continue;
    ctx.txn->PutRaw(FieldKey(meta.version, ctx.args[i]), "");
    added++;
  }
  meta.count += static_cast<uint64_t>(added);
  ctx.txn->PutMeta(ctx.args[1], meta);
  ctx.out->Integer(added);
}

void CmdSRem(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kSet, &meta)) return;
  if (!meta) return ctx.out->Integer(0);
  int64_t removed = 0;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    Result<bool> in = IsMember(ctx, *meta, ctx.args[i]);
    if (!in.ok()) return ReplyStatus(ctx.out, in.status());
    if (!*in) continue;
    ctx.txn->DeleteRaw(FieldKey(meta->version, ctx.args[i]));
    removed++;
  }
  if (removed > 0) {
    meta->count -= std::min<uint64_t>(meta->count, static_cast<uint64_t>(removed));
    StoreCollection(ctx, ctx.args[1], *meta);
  }
  ctx.out->Integer(removed);
}

void CmdSMembers(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kSet, &meta)) return;
  std::vector<std::string> members;
  if (meta) {
    Status s = VisitMembers(ctx, *meta, std::nullopt, [&](std::string_view m) {
      members.emplace_back(m);
      return true;
    });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  ReplyMembers(ctx, members);
}

void CmdSIsMember(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kSet, &meta)) return;
  if (!meta) return ctx.out->Integer(0);
  Result<bool> in = IsMember(ctx, *meta, ctx.args[2]);
  if (!in.ok()) return ReplyStatus(ctx.out, in.status());
  ctx.out->Integer(*in ? 1 : 0);
}

void CmdSMIsMember(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kSet, &meta)) return;
  std::vector<bool> answers;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    if (!meta) {
      answers.push_back(false);
      continue;
    }
    Result<bool> in = IsMember(ctx, *meta, ctx.args[i]);
    if (!in.ok()) return ReplyStatus(ctx.out, in.status());
    answers.push_back(*in);
  }
  ctx.out->Array(answers.size());
  for (bool in : answers) ctx.out->Integer(in ? 1 : 0);
}

void CmdSCard(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kSet, &meta)) return;
  ctx.out->Integer(meta ? static_cast<int64_t>(meta->count) : 0);
}

void CmdSPop(CommandContext& ctx) {
  const auto& a = ctx.args;
  if (a.size() > 3) return ctx.out->Error(kErrSyntax);
  int64_t count = 1;
  const bool with_count = a.size() == 3;
  if (with_count && (!ParseInt64(a[2], &count) || count < 0)) {
    return ctx.out->Error(kErrNotPositive);
  }
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kSet, &meta)) return;
  if (!meta) return with_count ? ctx.out->Set(0) : ctx.out->Null();
  std::vector<std::string> members;
  if (static_cast<uint64_t>(count) >= meta->count) {
    Status s = VisitMembers(ctx, *meta, std::nullopt, [&](std::string_view m) {
      members.emplace_back(m);
      return true;
    });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
    ctx.txn->DeleteKey(a[1], *meta);
  } else {
    Status s = RandomMembers(ctx, *meta, static_cast<uint64_t>(count), &members);
    if (!s.ok()) return ReplyStatus(ctx.out, s);
    for (const auto& m : members) ctx.txn->DeleteRaw(FieldKey(meta->version, m));
    meta->count -= members.size();
    StoreCollection(ctx, a[1], *meta);
  }
  if (!with_count) return ctx.out->Bulk(members.front());
  ReplyMembers(ctx, members);
}

void CmdSRandMember(CommandContext& ctx) {
  const auto& a = ctx.args;
  if (a.size() > 3) return ctx.out->Error(kErrSyntax);
  int64_t count = 1;
  const bool with_count = a.size() == 3;
  if (with_count && !ParseInt64(a[2], &count)) return ctx.out->Error(kErrNotInteger);
  if (count == INT64_MIN) return ctx.out->Error(kErrNotInteger);
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kSet, &meta)) return;
  if (!meta) return with_count ? ctx.out->Array(0) : ctx.out->Null();
  std::vector<std::string> members;
  if (count >= 0) {
    Status s = RandomMembers(ctx, *meta, static_cast<uint64_t>(count), &members);
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  } else {
    // Repetitions allowed: one random pick per element asked for.
    for (int64_t i = 0; i < -count; i++) {
      std::vector<std::string> one;
      Status s = RandomMembers(ctx, *meta, 1, &one);
      if (!s.ok()) return ReplyStatus(ctx.out, s);
      members.push_back(std::move(one.front()));
    }
  }
  if (!with_count) return ctx.out->Bulk(members.front());
  ctx.out->Array(members.size());
  for (const auto& m : members) ctx.out->Bulk(m);
}

void CmdSMove(CommandContext& ctx) {
  const auto& a = ctx.args;
  std::optional<Metadata> src, dst;
  // As Redis: a missing source is 0 whatever the destination holds.
  if (!ReadTyped(ctx, a[1], ValueType::kSet, &src)) return;
  if (!src) return ctx.out->Integer(0);
  if (!ReadTyped(ctx, a[2], ValueType::kSet, &dst)) return;
  Result<bool> in = IsMember(ctx, *src, a[3]);
  if (!in.ok()) return ReplyStatus(ctx.out, in.status());
  if (!*in) return ctx.out->Integer(0);
  if (a[1] == a[2]) return ctx.out->Integer(1);
  ctx.txn->DeleteRaw(FieldKey(src->version, a[3]));
  src->count--;
  StoreCollection(ctx, a[1], *src);
  Metadata target;
  if (!OpenCollection(ctx, a[2], ValueType::kSet, &target)) return;
  Result<bool> there = IsMember(ctx, target, a[3]);
  if (!there.ok()) return ReplyStatus(ctx.out, there.status());
  if (!*there) {
    ctx.txn->PutRaw(FieldKey(target.version, a[3]), "");
    target.count++;
  }
  ctx.txn->PutMeta(a[2], target);
  ctx.out->Integer(1);
}

void CmdSInter(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kInter, false); }
void CmdSUnion(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kUnion, false); }
void CmdSDiff(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kDiff, false); }
void CmdSInterStore(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kInter, true); }
void CmdSUnionStore(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kUnion, true); }
void CmdSDiffStore(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kDiff, true); }

void CmdSInterCard(CommandContext& ctx) {
  const auto& a = ctx.args;
  int64_t numkeys = 0;
  if (!ParseInt64(a[1], &numkeys)) return ctx.out->Error(kErrNotInteger);
  if (numkeys <= 0) return ctx.out->Error("ERR numkeys should be greater than 0");
  if (static_cast<uint64_t>(numkeys) > a.size() - 2) {
    return ctx.out->Error("ERR Number of keys can't be greater than number of args");
  }
  const size_t end = 2 + static_cast<size_t>(numkeys);
  int64_t limit = 0;
  for (size_t i = end; i < a.size(); i++) {
    if (EqualsIgnoreCase(a[i], "limit") && i + 1 < a.size()) {
      if (!ParseInt64(a[++i], &limit)) return ctx.out->Error(kErrNotInteger);
      if (limit < 0) return ctx.out->Error("ERR LIMIT can't be negative");
    } else {
      return ctx.out->Error(kErrSyntax);
    }
  }
  std::vector<std::optional<Metadata>> sets;
  if (!ReadSets(ctx, 2, end, &sets)) return;
  std::vector<std::string> members;
  Status s = ComputeSetOp(ctx, SetOp::kInter, sets, static_cast<uint64_t>(limit), &members);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  ctx.out->Integer(static_cast<int64_t>(members.size()));
}

void CmdSScan(CommandContext& ctx) {
  const auto& a = ctx.args;
  ScanOptions scan;
  if (!ParseScanOptions(ctx, 2, 0, &scan)) return;
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kSet, &meta)) return;
  std::optional<std::string> start_after;
  if (!FindScanStart(ctx, scan.cursor, &start_after)) return;
  std::vector<std::string> items;
  bool more = false;
  std::string last;
  if (meta) {
    const size_t budget = scan.budget();
    const std::string prefix = FieldPrefix(meta->version);
    size_t examined = 0;
    if (start_after && start_after->compare(0, prefix.size(), prefix) != 0) {
      start_after = FieldPrefix(meta->version + 1);
    }
    Status s = VisitMembers(ctx, *meta, start_after, [&](std::string_view m) {
      if (examined == budget) {
        more = true;
        return false;
      }
      examined++;
      last = prefix + std::string(m);
      if (!scan.pattern || GlobMatch(*scan.pattern, m)) items.emplace_back(m);
      return true;
    });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  uint64_t next = more ? ctx.server->cursors.Save(ctx.session->id, last) : 0;
  ctx.out->Array(2);
  ctx.out->Bulk(std::to_string(next));
  ctx.out->Array(items.size());
  for (const auto& m : items) ctx.out->Bulk(m);
}

}  // namespace cloudkv::server
