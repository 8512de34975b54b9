// SPDX-License-Identifier: Apache-2.0
// Sorted-set commands. A zset is a metadata record (version, member count, expiry) plus, per
// member, a member record ZSetMemberKey(version, member) -> score and an index record
// ZSetIndexKey(version, score, member) ordered by (score, member) (key_encoding.h). ZSCORE is
// one lookup; ranges by score and by lex seek into the index and read what they return;
// ranges by rank skip `start` index records from the nearer end; ZPOPMAX and the REV forms
// scan the index backwards.
#include <algorithm>
#include <climits>
#include <cmath>
#include <map>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

constexpr std::string_view kErrMinMaxFloat = "ERR min or max is not a float";
constexpr std::string_view kErrLexRange = "ERR min or max not valid string range item";

struct Entry {
  std::string member;
  double score;
};

std::string IndexEnd(uint64_t version) {
  std::string end = ZSetIndexPrefix(version);
  end.back()++;
  return end;
}

Result<std::optional<double>> GetScore(CommandContext& ctx, const Metadata& meta,
                                       std::string_view member) {
  Result<std::optional<std::string>> got = ctx.txn->GetRaw(ZSetMemberKey(meta.version, member));
  if (!got.ok()) return got.status();
  if (!got->has_value()) return std::optional<double>();
  std::optional<double> score = redis::DecodeScore(**got);
  if (!score) return Status::Corruption("zset member record of bad size");
  return score;
}

void PutMember(CommandContext& ctx, const Metadata& meta, std::string_view member,
               std::optional<double> old_score, double score) {
  if (old_score) ctx.txn->DeleteRaw(ZSetIndexKey(meta.version, *old_score, member));
  ctx.txn->PutRaw(ZSetMemberKey(meta.version, member), redis::EncodeScore(score));
  ctx.txn->PutRaw(ZSetIndexKey(meta.version, score, member), "");
}

void RemoveMember(CommandContext& ctx, const Metadata& meta, std::string_view member,
                  double score) {
  ctx.txn->DeleteRaw(ZSetMemberKey(meta.version, member));
  ctx.txn->DeleteRaw(ZSetIndexKey(meta.version, score, member));
}

// Visits index entries (ascending from `lower`, or descending from the top).
Status VisitIndex(CommandContext& ctx, const Metadata& meta, bool reverse,
                  const std::optional<std::string>& lower,
                  const std::function<bool(double score, std::string_view member)>& visit) {
  auto adapt = [&](std::string_view key, std::string_view) {
    auto decoded = redis::DecodeZSetIndexKey(key);
    if (!decoded) return true;
    return visit(decoded->first, decoded->second);
  };
  const std::string begin = lower ? *lower : ZSetIndexPrefix(meta.version);
  if (reverse) return ctx.txn->ScanReverse(begin, IndexEnd(meta.version), adapt);
  return ctx.txn->Scan(begin, IndexEnd(meta.version), std::nullopt, adapt);
}

struct ScoreBound {
  double value = 0;
  bool exclusive = false;
};

bool ParseScoreBound(std::string_view arg, ScoreBound* bound) {
  bound->exclusive = !arg.empty() && arg[0] == '(';
  if (bound->exclusive) arg.remove_prefix(1);
  return ParseDouble(arg, &bound->value);
}

struct LexBound {
  std::string value;
  bool exclusive = false;
  int infinite = 0;  // -1 = "-", 1 = "+"
};

bool ParseLexBound(std::string_view arg, LexBound* bound) {
  if (arg == "-") {
    bound->infinite = -1;
  } else if (arg == "+") {
    bound->infinite = 1;
  } else if (!arg.empty() && (arg[0] == '(' || arg[0] == '[')) {
    bound->exclusive = arg[0] == '(';
    bound->value = arg.substr(1);
  } else {
    return false;
  }
  return true;
}

bool AboveMin(const ScoreBound& min, double score) {
  return min.exclusive ? score > min.value : score >= min.value;
}
bool BelowMax(const ScoreBound& max, double score) {
  return max.exclusive ? score < max.value : score <= max.value;
}
bool LexAboveMin(const LexBound& min, std::string_view m) {
  if (min.infinite != 0) return min.infinite < 0;
  return min.exclusive ? m > min.value : m >= min.value;
}
bool LexBelowMax(const LexBound& max, std::string_view m) {
  if (max.infinite != 0) return max.infinite > 0;
  return max.exclusive ? m < max.value : m <= max.value;
}

// What ZRANGE and its older forms select.
struct RangeSpec {
  enum By { kRank, kScore, kLex } by = kRank;
  bool reverse = false;
  int64_t start = 0, stop = 0;  // kRank
  ScoreBound min, max;          // kScore (min <= max in score order)
  LexBound lex_min, lex_max;    // kLex
  int64_t offset = 0, limit = -1;
  bool withscores = false;
};

// The entries a range selects, in reply order.
Status SelectRange(CommandContext& ctx, const Metadata& meta, const RangeSpec& spec,
                   std::vector<Entry>* out) {
  if (spec.by == RangeSpec::kRank) {
    uint64_t first = 0, last = 0;
    if (!NormalizeRange(spec.start, spec.stop, meta.count, &first, &last)) return Status::OK();
    uint64_t position = 0;
    return VisitIndex(ctx, meta, spec.reverse, std::nullopt, [&](double score, std::string_view m) {
      if (position++ < first) return true;
      out->push_back(Entry{std::string(m), score});
      return position <= last;
    });
  }
  int64_t skipped = 0;
  auto take = [&](double score, std::string_view m) {
    if (skipped < spec.offset) {
      skipped++;
      return true;
    }
    if (spec.limit >= 0 && out->size() >= static_cast<uint64_t>(spec.limit)) return false;
    out->push_back(Entry{std::string(m), score});
    return spec.limit < 0 || out->size() < static_cast<uint64_t>(spec.limit);
  };
  if (spec.offset < 0) return Status::OK();
  if (spec.by == RangeSpec::kScore) {
    if (!spec.reverse) {
      return VisitIndex(ctx, meta, false, ZSetIndexLowerBound(meta.version, spec.min.value),
                        [&](double score, std::string_view m) {
                          if (!AboveMin(spec.min, score)) return true;
                          if (!BelowMax(spec.max, score)) return false;
                          return take(score, m);
                        });
    }
    return VisitIndex(ctx, meta, true, ZSetIndexLowerBound(meta.version, spec.min.value),
                      [&](double score, std::string_view m) {
                        if (!BelowMax(spec.max, score)) return true;
                        if (!AboveMin(spec.min, score)) return false;
                        return take(score, m);
                      });
  }
  // By lex (every score equal, as Redis requires): the index order is the member order.
  return VisitIndex(ctx, meta, spec.reverse, std::nullopt, [&](double score, std::string_view m) {
    if (!spec.reverse) {
      if (!LexAboveMin(spec.lex_min, m)) return true;
      if (!LexBelowMax(spec.lex_max, m)) return false;
    } else {
      if (!LexBelowMax(spec.lex_max, m)) return true;
      if (!LexAboveMin(spec.lex_min, m)) return false;
    }
    return take(score, m);
  });
}

void ReplyEntries(CommandContext& ctx, const std::vector<Entry>& entries, bool withscores) {
  if (!withscores) {
    ctx.out->Array(entries.size());
    for (const auto& e : entries) ctx.out->Bulk(e.member);
    return;
  }
  if (ctx.out->protocol() >= 3) {
    ctx.out->Array(entries.size());
    for (const auto& e : entries) {
      ctx.out->Array(2);
      ctx.out->Bulk(e.member);
      ctx.out->Double(e.score);
    }
    return;
  }
  ctx.out->Array(entries.size() * 2);
  for (const auto& e : entries) {
    ctx.out->Bulk(e.member);
    ctx.out->Bulk(FormatDouble(e.score));
  }
}

void ReplyScore(CommandContext& ctx, double score) {
  if (ctx.out->protocol() >= 3) return ctx.out->Double(score);
  ctx.out->Bulk(FormatDouble(score));
}

// Parses ZRANGE-style arguments from args[first] (min/start, max/stop, options). `legacy`
// fixes BYSCORE/BYLEX/REV for the old commands. False after replying.
bool ParseRange(CommandContext& ctx, size_t first, RangeSpec* spec, bool legacy,
                bool allow_withscores) {
  const auto& a = ctx.args;
  bool has_limit = false;
  for (size_t i = first + 2; i < a.size(); i++) {
    if (!legacy && EqualsIgnoreCase(a[i], "byscore")) {
      spec->by = RangeSpec::kScore;
    } else if (!legacy && EqualsIgnoreCase(a[i], "bylex")) {
      spec->by = RangeSpec::kLex;
    } else if (!legacy && EqualsIgnoreCase(a[i], "rev")) {
      spec->reverse = true;
    } else if (allow_withscores && EqualsIgnoreCase(a[i], "withscores")) {
      spec->withscores = true;
    } else if (EqualsIgnoreCase(a[i], "limit") && i + 2 < a.size()) {
      if (!ParseInt64(a[i + 1], &spec->offset) || !ParseInt64(a[i + 2], &spec->limit)) {
        ctx.out->Error(kErrNotInteger);
        return false;
      }
      has_limit = true;
      i += 2;
    } else {
      ctx.out->Error(kErrSyntax);
      return false;
    }
  }
  if (has_limit && spec->by == RangeSpec::kRank) {
    ctx.out->Error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return false;
  }
  if (spec->withscores && spec->by == RangeSpec::kLex) {
    ctx.out->Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    return false;
  }
  // With REV the arguments come max first.
  std::string_view low = a[first], high = a[first + 1];
  if (spec->reverse && spec->by != RangeSpec::kRank) std::swap(low, high);
  if (spec->by == RangeSpec::kRank) {
    if (!ParseInt64(a[first], &spec->start) || !ParseInt64(a[first + 1], &spec->stop)) {
      ctx.out->Error(kErrNotInteger);
      return false;
    }
  } else if (spec->by == RangeSpec::kScore) {
    if (!ParseScoreBound(low, &spec->min) || !ParseScoreBound(high, &spec->max)) {
      ctx.out->Error(kErrMinMaxFloat);
      return false;
    }
  } else if (!ParseLexBound(low, &spec->lex_min) || !ParseLexBound(high, &spec->lex_max)) {
    ctx.out->Error(kErrLexRange);
    return false;
  }
  return true;
}

void RangeCommand(CommandContext& ctx, RangeSpec spec, bool legacy) {
  if (!ParseRange(ctx, 2, &spec, legacy, true)) return;
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kZSet, &meta)) return;
  std::vector<Entry> entries;
  if (meta) {
    Status s = SelectRange(ctx, *meta, spec, &entries);
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  ReplyEntries(ctx, entries, spec.withscores);
}

// Replaces `destination` with a zset of `entries` (deleted when empty); replies the count.
void StoreZSet(CommandContext& ctx, const std::string& destination,
               const std::vector<Entry>& entries) {
  Status s = DeleteAnyKey(ctx, destination);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  Metadata meta;
  meta.type = ValueType::kZSet;
  meta.version = ctx.server->versions.Next();
  for (const auto& e : entries) PutMember(ctx, meta, e.member, std::nullopt, e.score);
  meta.count = entries.size();
  StoreCollection(ctx, destination, meta);
  if (meta.count > 0) ServeBlockedClients(ctx, destination);
  ctx.out->Integer(static_cast<int64_t>(entries.size()));
}

void PopGeneric(CommandContext& ctx, bool max) {
  const auto& a = ctx.args;
  if (a.size() > 3) return ctx.out->Error(kErrSyntax);
  int64_t count = 1;
  if (a.size() == 3) {
    if (!ParseInt64(a[2], &count)) return ctx.out->Error(kErrNotInteger);
    if (count < 0) return ctx.out->Error("ERR value is out of range, must be positive");
  }
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kZSet, &meta)) return;
  std::vector<Entry> entries;
  if (meta && count > 0) {
    Status s = VisitIndex(ctx, *meta, max, std::nullopt, [&](double score, std::string_view m) {
      entries.push_back(Entry{std::string(m), score});
      return entries.size() < static_cast<uint64_t>(count);
    });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
    for (const auto& e : entries) RemoveMember(ctx, *meta, e.member, e.score);
    meta->count -= entries.size();
    StoreCollection(ctx, a[1], *meta);
  }
  if (a.size() == 3 && ctx.out->protocol() >= 3) {
    ctx.out->Array(entries.size());
    for (const auto& e : entries) {
      ctx.out->Array(2);
      ctx.out->Bulk(e.member);
      ctx.out->Double(e.score);
    }
    return;
  }
  if (a.size() < 3 && ctx.out->protocol() >= 3 && !entries.empty()) {
    ctx.out->Array(2);
    ctx.out->Bulk(entries[0].member);
    ctx.out->Double(entries[0].score);
    return;
  }
  ReplyEntries(ctx, entries, true);
}

// ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE: numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX].
enum class ZOp { kUnion, kInter, kDiff };

void ZSetOpStore(CommandContext& ctx, ZOp op) {
  const auto& a = ctx.args;
  int64_t numkeys = 0;
  if (!ParseInt64(a[2], &numkeys)) return ctx.out->Error(kErrNotInteger);
  if (numkeys <= 0) {
    return ctx.out->Error("ERR at least 1 input key is needed for '" + Lower(a[0]) + "' command");
  }
  if (static_cast<uint64_t>(numkeys) > a.size() - 3) return ctx.out->Error(kErrSyntax);
  const size_t end = 3 + static_cast<size_t>(numkeys);
  std::vector<double> weights(static_cast<size_t>(numkeys), 1.0);
  enum { kSum, kMin, kMax } aggregate = kSum;
  for (size_t i = end; i < a.size(); i++) {
    if (op != ZOp::kDiff && EqualsIgnoreCase(a[i], "weights") &&
        i + static_cast<size_t>(numkeys) < a.size()) {
      for (size_t w = 0; w < weights.size(); w++) {
        if (!ParseDouble(a[i + 1 + w], &weights[w])) {
          return ctx.out->Error("ERR weight value is not a float");
        }
      }
      i += weights.size();
    } else if (op != ZOp::kDiff && EqualsIgnoreCase(a[i], "aggregate") && i + 1 < a.size()) {
      std::string agg = Lower(a[++i]);
      if (agg == "sum") {
        aggregate = kSum;
      } else if (agg == "min") {
        aggregate = kMin;
      } else if (agg == "max") {
        aggregate = kMax;
      } else {
        return ctx.out->Error(kErrSyntax);
      }
    } else {
      return ctx.out->Error(kErrSyntax);
    }
  }
  // Inputs may be sets too (score 1), as in Redis.
  std::vector<std::optional<Metadata>> inputs;
  for (size_t i = 3; i < end; i++) {
    Result<std::optional<Metadata>> got = ctx.txn->GetMeta(a[i]);
    if (!got.ok()) return ReplyStatus(ctx.out, got.status());
    if (got->has_value() && (*got)->type != ValueType::kZSet && (*got)->type != ValueType::kSet) {
      return ctx.out->Error(kErrWrongType);
    }
    inputs.push_back(std::move(got).value());
  }
  std::map<std::string, std::pair<double, size_t>, std::less<>> acc;  // member -> score, hits
  for (size_t k = 0; k < inputs.size(); k++) {
    if (!inputs[k]) continue;
    const Metadata& meta = *inputs[k];
    auto add = [&](std::string_view m, double score) {
      if (op == ZOp::kDiff) {
        if (k == 0) {
          acc.emplace(std::string(m), std::make_pair(score, size_t{1}));
        } else if (auto it = acc.find(m); it != acc.end()) {
          acc.erase(it);
        }
        return;
      }
      double v = score * weights[k];
      if (std::isnan(v)) v = 0;
      auto it = acc.find(m);
      if (it == acc.end()) {
        acc.emplace(std::string(m), std::make_pair(v, size_t{1}));
        return;
      }
      double& cur = it->second.first;
      if (aggregate == kSum) {
        cur += v;
        if (std::isnan(cur)) cur = 0;
      } else if (aggregate == kMin) {
        cur = std::min(cur, v);
      } else {
        cur = std::max(cur, v);
      }
      it->second.second++;
    };
    Status s;
    if (meta.type == ValueType::kSet) {
      const size_t prefix = FieldPrefix(meta.version).size();
      s = ctx.txn->Scan(FieldPrefix(meta.version), FieldPrefix(meta.version + 1), std::nullopt,
                        [&](std::string_view key, std::string_view) {
                          add(key.substr(prefix), 1.0);
                          return true;
                        });
    } else {
      s = VisitIndex(ctx, meta, false, std::nullopt, [&](double score, std::string_view m) {
        add(m, score);
        return true;
      });
    }
    if (!s.ok()) return ReplyStatus(ctx.out, s);
    if (op == ZOp::kDiff && k == 0 && acc.empty()) break;
  }
  std::vector<Entry> entries;
  for (auto& [member, value] : acc) {
    if (op == ZOp::kInter && value.second != inputs.size()) continue;
    entries.push_back(Entry{member, value.first});
  }
  if (op == ZOp::kInter) {
    for (const auto& in : inputs) {
      if (!in) entries.clear();
    }
  }
  StoreZSet(ctx, a[1], entries);
}

}  // namespace

void CmdZAdd(CommandContext& ctx) {
  const auto& a = ctx.args;
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
  size_t i = 2;
  for (; i < a.size(); i++) {
    std::string opt = Lower(a[i]);
    if (opt == "nx") {
      nx = true;
    } else if (opt == "xx") {
      xx = true;
    } else if (opt == "gt") {
      gt = true;
    } else if (opt == "lt") {
      lt = true;
    } else if (opt == "ch") {
      ch = true;
    } else if (opt == "incr") {
      incr = true;
    } else {
      break;
    }
  }
  const size_t pairs_begin = i;
  if (pairs_begin >= a.size() || (a.size() - pairs_begin) % 2 != 0) {
    return ctx.out->Error(kErrSyntax);
  }
  if (nx && xx) {
    return ctx.out->Error("ERR XX and NX options at the same time are not compatible");
  }
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return ctx.out->Error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && a.size() - pairs_begin > 2) {
    return ctx.out->Error("ERR INCR option supports a single increment-element pair");
  }
  std::vector<double> scores;
  for (size_t p = pairs_begin; p < a.size(); p += 2) {
    double score = 0;
    if (!ParseDouble(a[p], &score)) return ctx.out->Error(kErrNotFloat);
    scores.push_back(score);
  }
  Metadata meta;
  if (!OpenCollection(ctx, a[1], ValueType::kZSet, &meta)) return;
  int64_t added = 0, changed = 0;
  std::optional<double> incr_result;
  for (size_t p = pairs_begin, n = 0; p < a.size(); p += 2, n++) {
    const std::string& member = a[p + 1];
    Result<std::optional<double>> old = GetScore(ctx, meta, member);
    if (!old.ok()) return ReplyStatus(ctx.out, old.status());
    double score = scores[n];
    if (old->has_value()) {
      if (nx) continue;
      if (incr) {
        score += **old;
        if (std::isnan(score)) return ctx.out->Error("ERR resulting score is not a number (NaN)");
      }
      if ((gt && score <= **old) || (lt && score >= **old)) continue;
      incr_result = score;
      if (score != **old) {
        PutMember(ctx, meta, member, *old, score);
        changed++;
      }
    } else {
      if (xx) continue;
      PutMember(ctx, meta, member, std::nullopt, score);
      meta.count++;
      added++;
      incr_result = score;
    }
  }
  if (added > 0 || changed > 0) {
    ctx.txn->PutMeta(a[1], meta);
    ServeBlockedClients(ctx, a[1]);
  } else if (meta.count == 0) {
    // Nothing was added to a new zset: it does not come into existence.
  }
  if (incr) {
    if (!incr_result) return ctx.out->Null();
    return ReplyScore(ctx, *incr_result);
  }
  ctx.out->Integer(ch ? added + changed : added);
}

void CmdZIncrBy(CommandContext& ctx) {
  const auto& a = ctx.args;
  double delta = 0;
  if (!ParseDouble(a[2], &delta)) return ctx.out->Error(kErrNotFloat);
  Metadata meta;
  if (!OpenCollection(ctx, a[1], ValueType::kZSet, &meta)) return;
  Result<std::optional<double>> old = GetScore(ctx, meta, a[3]);
  if (!old.ok()) return ReplyStatus(ctx.out, old.status());
  double score = delta + (old->has_value() ? **old : 0);
  if (std::isnan(score)) return ctx.out->Error("ERR resulting score is not a number (NaN)");
  PutMember(ctx, meta, a[3], *old, score);
  if (!old->has_value()) meta.count++;
  ctx.txn->PutMeta(a[1], meta);
  ServeBlockedClients(ctx, a[1]);
  ReplyScore(ctx, score);
}

void CmdZRem(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kZSet, &meta)) return;
  if (!meta) return ctx.out->Integer(0);
  int64_t removed = 0;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    Result<std::optional<double>> old = GetScore(ctx, *meta, ctx.args[i]);
    if (!old.ok()) return ReplyStatus(ctx.out, old.status());
    if (!old->has_value()) continue;
    RemoveMember(ctx, *meta, ctx.args[i], **old);
    removed++;
  }
  if (removed > 0) {
    meta->count -= std::min<uint64_t>(meta->count, static_cast<uint64_t>(removed));
    StoreCollection(ctx, ctx.args[1], *meta);
  }
  ctx.out->Integer(removed);
}

void CmdZScore(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kZSet, &meta)) return;
  if (!meta) return ctx.out->Null();
  Result<std::optional<double>> score = GetScore(ctx, *meta, ctx.args[2]);
  if (!score.ok()) return ReplyStatus(ctx.out, score.status());
  if (!score->has_value()) return ctx.out->Null();
  ReplyScore(ctx, **score);
}

void CmdZMScore(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kZSet, &meta)) return;
  std::vector<std::optional<double>> scores;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    if (!meta) {
      scores.emplace_back();
      continue;
    }
    Result<std::optional<double>> score = GetScore(ctx, *meta, ctx.args[i]);
    if (!score.ok()) return ReplyStatus(ctx.out, score.status());
    scores.push_back(*score);
  }
  ctx.out->Array(scores.size());
  for (const auto& s : scores) {
    if (s) {
      ReplyScore(ctx, *s);
    } else {
      ctx.out->Null();
    }
  }
}

void CmdZCard(CommandContext& ctx) {
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kZSet, &meta)) return;
  ctx.out->Integer(meta ? static_cast<int64_t>(meta->count) : 0);
}

void CmdZCount(CommandContext& ctx) {
  RangeSpec spec;
  spec.by = RangeSpec::kScore;
  if (!ParseScoreBound(ctx.args[2], &spec.min) || !ParseScoreBound(ctx.args[3], &spec.max)) {
    return ctx.out->Error(kErrMinMaxFloat);
  }
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kZSet, &meta)) return;
  int64_t count = 0;
  if (meta) {
    Status s = VisitIndex(ctx, *meta, false, ZSetIndexLowerBound(meta->version, spec.min.value),
                          [&](double score, std::string_view) {
                            if (!AboveMin(spec.min, score)) return true;
                            if (!BelowMax(spec.max, score)) return false;
                            count++;
                            return true;
                          });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  ctx.out->Integer(count);
}

void CmdZLexCount(CommandContext& ctx) {
  RangeSpec spec;
  spec.by = RangeSpec::kLex;
  if (!ParseLexBound(ctx.args[2], &spec.lex_min) || !ParseLexBound(ctx.args[3], &spec.lex_max)) {
    return ctx.out->Error(kErrLexRange);
  }
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[1], ValueType::kZSet, &meta)) return;
  std::vector<Entry> entries;
  if (meta) {
    Status s = SelectRange(ctx, *meta, spec, &entries);
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  ctx.out->Integer(static_cast<int64_t>(entries.size()));
}

void CmdZRange(CommandContext& ctx) { RangeCommand(ctx, RangeSpec{}, false); }

void CmdZRevRange(CommandContext& ctx) {
  RangeSpec spec;
  spec.reverse = true;
  RangeCommand(ctx, spec, true);
}

void CmdZRangeByScore(CommandContext& ctx) {
  RangeSpec spec;
  spec.by = RangeSpec::kScore;
  RangeCommand(ctx, spec, true);
}

void CmdZRevRangeByScore(CommandContext& ctx) {
  RangeSpec spec;
  spec.by = RangeSpec::kScore;
  spec.reverse = true;
  RangeCommand(ctx, spec, true);
}

void CmdZRangeByLex(CommandContext& ctx) {
  RangeSpec spec;
  spec.by = RangeSpec::kLex;
  RangeCommand(ctx, spec, true);
}

void CmdZRevRangeByLex(CommandContext& ctx) {
  RangeSpec spec;
  spec.by = RangeSpec::kLex;
  spec.reverse = true;
  RangeCommand(ctx, spec, true);
}

void CmdZRangeStore(CommandContext& ctx) {
  RangeSpec spec;
  if (!ParseRange(ctx, 3, &spec, false, false)) return;
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, ctx.args[2], ValueType::kZSet, &meta)) return;
  std::vector<Entry> entries;
  if (meta) {
    Status s = SelectRange(ctx, *meta, spec, &entries);
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  StoreZSet(ctx, ctx.args[1], entries);
}

void RankGeneric(CommandContext& ctx, bool reverse) {
  const auto& a = ctx.args;
  bool withscore = false;
  if (a.size() == 4) {
    if (!EqualsIgnoreCase(a[3], "withscore")) return ctx.out->Error(kErrSyntax);
    withscore = true;
  } else if (a.size() > 4) {
    return ctx.out->Error(kErrSyntax);
  }
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kZSet, &meta)) return;
  if (!meta) return withscore ? ctx.out->NullArray() : ctx.out->Null();
  Result<std::optional<double>> score = GetScore(ctx, *meta, a[2]);
  if (!score.ok()) return ReplyStatus(ctx.out, score.status());
  if (!score->has_value()) return withscore ? ctx.out->NullArray() : ctx.out->Null();
  // Count the index entries before the member (from the nearer end).
  int64_t rank = 0;
  const std::string target = ZSetIndexKey(meta->version, **score, a[2]);
  Status s = ctx.txn->Scan(ZSetIndexPrefix(meta->version), target, std::nullopt,
                           [&](std::string_view, std::string_view) {
                             rank++;
                             return true;
                           });
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  if (reverse) rank = static_cast<int64_t>(meta->count) - 1 - rank;
  if (!withscore) return ctx.out->Integer(rank);
  ctx.out->Array(2);
  ctx.out->Integer(rank);
  ReplyScore(ctx, **score);
}

void CmdZRank(CommandContext& ctx) { RankGeneric(ctx, false); }
void CmdZRevRank(CommandContext& ctx) { RankGeneric(ctx, true); }
void CmdZPopMin(CommandContext& ctx) { PopGeneric(ctx, false); }
void CmdZPopMax(CommandContext& ctx) { PopGeneric(ctx, true); }

void RemRangeGeneric(CommandContext& ctx, RangeSpec::By by) {
  RangeSpec spec;
  spec.by = by;
  const auto& a = ctx.args;
  if (by == RangeSpec::kRank) {
    if (!ParseInt64(a[2], &spec.start) || !ParseInt64(a[3], &spec.stop)) {
      return ctx.out->Error(kErrNotInteger);
    }
  } else if (by == RangeSpec::kScore) {
    if (!ParseScoreBound(a[2], &spec.min) || !ParseScoreBound(a[3], &spec.max)) {
      return ctx.out->Error(kErrMinMaxFloat);
    }
  } else if (!ParseLexBound(a[2], &spec.lex_min) || !ParseLexBound(a[3], &spec.lex_max)) {
    return ctx.out->Error(kErrLexRange);
  }
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kZSet, &meta)) return;
  if (!meta) return ctx.out->Integer(0);
  std::vector<Entry> entries;
  Status s = SelectRange(ctx, *meta, spec, &entries);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  for (const auto& e : entries) RemoveMember(ctx, *meta, e.member, e.score);
  if (!entries.empty()) {
    meta->count -= entries.size();
    StoreCollection(ctx, a[1], *meta);
  }
  ctx.out->Integer(static_cast<int64_t>(entries.size()));
}

void CmdZRemRangeByRank(CommandContext& ctx) { RemRangeGeneric(ctx, RangeSpec::kRank); }
void CmdZRemRangeByScore(CommandContext& ctx) { RemRangeGeneric(ctx, RangeSpec::kScore); }
void CmdZRemRangeByLex(CommandContext& ctx) { RemRangeGeneric(ctx, RangeSpec::kLex); }
void CmdZUnionStore(CommandContext& ctx) { ZSetOpStore(ctx, ZOp::kUnion); }
void CmdZInterStore(CommandContext& ctx) { ZSetOpStore(ctx, ZOp::kInter); }
void CmdZDiffStore(CommandContext& ctx) { ZSetOpStore(ctx, ZOp::kDiff); }

void CmdZRandMember(CommandContext& ctx) {
  const auto& a = ctx.args;
  int64_t count = 1;
  const bool with_count = a.size() >= 3;
  bool withscores = false;
  if (with_count && !ParseInt64(a[2], &count)) return ctx.out->Error(kErrNotInteger);
  if (a.size() == 4) {
    if (!EqualsIgnoreCase(a[3], "withscores")) return ctx.out->Error(kErrSyntax);
    withscores = true;
  } else if (a.size() > 4) {
    return ctx.out->Error(kErrSyntax);
  }
  if (count == INT64_MIN) return ctx.out->Error(kErrNotInteger);
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kZSet, &meta)) return;
  if (!meta) return with_count ? ctx.out->Array(0) : ctx.out->Null();
  // Starting at a random rank, `count` distinct members (wrapping); with a negative count,
  // one random pick per element asked for.
  std::vector<Entry> entries;
  auto pick = [&](uint64_t n) -> Status {
    const uint64_t start = RandomU64() % meta->count;
    uint64_t position = 0;
    std::vector<Entry> head;
    Status s = VisitIndex(ctx, *meta, false, std::nullopt, [&](double score, std::string_view m) {
      if (position < start) {
        if (head.size() < n) head.push_back(Entry{std::string(m), score});
      } else {
        entries.push_back(Entry{std::string(m), score});
        n--;
      }
      position++;
      return n > 0;
    });
    for (size_t i = 0; i < head.size() && n > 0; i++, n--) entries.push_back(head[i]);
    return s;
  };
  Status s;
  if (count >= 0) {
    s = pick(std::min<uint64_t>(static_cast<uint64_t>(count), meta->count));
  } else {
    for (int64_t i = 0; i < -count && s.ok(); i++) s = pick(1);
  }
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  if (!with_count) return ctx.out->Bulk(entries.front().member);
  ReplyEntries(ctx, entries, withscores);
}

void CmdZScan(CommandContext& ctx) {
  const auto& a = ctx.args;
  ScanOptions scan;
  if (!ParseScanOptions(ctx, 2, 0, &scan)) return;
  std::optional<Metadata> meta;
  if (!ReadTyped(ctx, a[1], ValueType::kZSet, &meta)) return;
  std::optional<std::string> start_after;
  if (!FindScanStart(ctx, scan.cursor, &start_after)) return;
  std::vector<Entry> items;
  bool more = false;
  std::string last;
  if (meta) {
    const size_t budget = scan.budget();
    const std::string prefix = ZSetIndexPrefix(meta->version);
    const std::string end = IndexEnd(meta->version);
    if (start_after && start_after->compare(0, prefix.size(), prefix) != 0) start_after = end;
    size_t examined = 0;
    Status s = ctx.txn->Scan(prefix, end, start_after, [&](std::string_view key, std::string_view) {
      if (examined == budget) {
        more = true;
        return false;
      }
      examined++;
      last = std::string(key);
      auto decoded = redis::DecodeZSetIndexKey(key);
      if (decoded && (!scan.pattern || GlobMatch(*scan.pattern, decoded->second))) {
        items.push_back(Entry{std::string(decoded->second), decoded->first});
      }
      return true;
    });
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  uint64_t next = more ? ctx.server->cursors.Save(ctx.session->id, last) : 0;
  ctx.out->Array(2);
  ctx.out->Bulk(std::to_string(next));
  ctx.out->Array(items.size() * 2);
  for (const auto& e : items) {
    ctx.out->Bulk(e.member);
    ctx.out->Bulk(FormatDouble(e.score));
  }
}

}  // namespace cloudkv::server
