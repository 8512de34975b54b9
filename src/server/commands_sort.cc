// SPDX-License-Identifier: Apache-2.0
// SORT and SORT_RO over lists, sets and sorted sets:
//   SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
//            [STORE destination]
// Reads every element of the collection (O(n) records, as Redis), plus one or two point reads
// per element and pattern for BY and GET. A pattern's first '*' is replaced by the element;
// "key->field" reads a hash field; GET "#" is the element itself; a BY pattern without '*'
// means "do not sort".
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

struct SortItem {
  std::string element;
  double score = 0;
  std::optional<std::string> weight;  // ALPHA with BY: the compared value
};

struct SortOptions {
  std::optional<std::string> by;
  bool dont_sort = false;
  int64_t offset = 0, count = -1;
  std::vector<std::string> gets;
  bool desc = false, alpha = false;
  std::optional<std::string> store;
};

bool ParseSortOptions(CommandContext& ctx, bool read_only, SortOptions* options) {
  const auto& a = ctx.args;
  for (size_t i = 2; i < a.size(); i++) {
    const size_t left = a.size() - i - 1;
    if (EqualsIgnoreCase(a[i], "asc")) {
      options->desc = false;
    } else if (EqualsIgnoreCase(a[i], "desc")) {
      options->desc = true;
    } else if (EqualsIgnoreCase(a[i], "alpha")) {
      options->alpha = true;
    } else if (EqualsIgnoreCase(a[i], "limit") && left >= 2) {
      if (!ParseInt64(a[i + 1], &options->offset) || !ParseInt64(a[i + 2], &options->count)) {
        ctx.out->Error(kErrNotInteger);
        return false;
      }
      i += 2;
    } else if (!read_only && EqualsIgnoreCase(a[i], "store") && left >= 1) {
      options->store = a[++i];
    } else if (EqualsIgnoreCase(a[i], "by") && left >= 1) {
      options->by = a[++i];
      // Without '*' every element would weigh the same: the elements keep their order.
      if (options->by->find('*') == std::string::npos) options->dont_sort = true;
    } else if (EqualsIgnoreCase(a[i], "get") && left >= 1) {
      options->gets.push_back(a[++i]);
    } else {
      ctx.out->Error(kErrSyntax);
      return false;
    }
  }
  return true;
}

// The value a BY/GET pattern names for `element`: a string key's value or a hash field;
// nullopt if there is none (no '*', a missing key, another type, a missing field).
Result<std::optional<std::string>> LookupPattern(CommandContext& ctx, std::string_view pattern,
                                                 std::string_view element) {
  if (pattern == "#") return std::optional<std::string>(element);
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return std::optional<std::string>();
  std::string_view field;
  std::string_view rest = pattern.substr(star + 1);
  const size_t arrow = rest.find("->");
  if (arrow != std::string_view::npos && arrow + 2 < rest.size()) {
    field = rest.substr(arrow + 2);
    rest = rest.substr(0, arrow);
  }
  std::string key;
  key.append(pattern.substr(0, star)).append(element).append(rest);
  Result<std::optional<Metadata>> meta = ctx.txn->GetMeta(key);
  if (!meta.ok()) return meta.status();
  if (!meta->has_value()) return std::optional<std::string>();
  const Metadata& m = **meta;
  if (field.empty()) {
    if (m.type != ValueType::kString) return std::optional<std::string>();
    return std::optional<std::string>(m.value);
  }
  if (m.type != ValueType::kHash) return std::optional<std::string>();
  return ctx.txn->GetRaw(FieldKey(m.version, field));
}

// Reads the collection's elements in its natural order (list order, set member order, zset
// score order).
Status ReadElements(CommandContext& ctx, const Metadata& meta, std::vector<SortItem>* items) {
  if (meta.type == ValueType::kZSet) {
    std::string end = ZSetIndexPrefix(meta.version);
    end.back()++;
    return ctx.txn->Scan(ZSetIndexPrefix(meta.version), end, std::nullopt,
                         [&](std::string_view key, std::string_view) {
                           auto decoded = redis::DecodeZSetIndexKey(key);
                           if (decoded) items->push_back(SortItem{std::string(decoded->second)});
                           return true;
                         });
  }
  const std::string prefix = FieldPrefix(meta.version);
  return ctx.txn->Scan(prefix, FieldPrefix(meta.version + 1), std::nullopt,
                       [&](std::string_view key, std::string_view value) {
                         items->push_back(SortItem{meta.type == ValueType::kList
                                                       ? std::string(value)
                                                       : std::string(key.substr(prefix.size()))});
                         return true;
                       });
}

// Parses a weight as Redis does (strtod of the whole string, finite or infinite, not NaN).
bool ParseWeight(const std::string& s, double* out) {
  errno = 0;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno != ERANGE && !std::isnan(*out);
}

int Compare(std::string_view a, std::string_view b) { return a < b ? -1 : (a > b ? 1 : 0); }

void SortGeneric(CommandContext& ctx, bool read_only) {
  SortOptions options;
  if (!ParseSortOptions(ctx, read_only, &options)) return;
  std::optional<Metadata> meta;
  {
    Result<std::optional<Metadata>> got = ctx.txn->GetMeta(ctx.args[1]);
    if (!got.ok()) return ReplyStatus(ctx.out, got.status());
    meta = std::move(got).value();
  }
  if (meta && meta->type != ValueType::kList && meta->type != ValueType::kSet &&
      meta->type != ValueType::kZSet) {
    return ctx.out->Error(kErrWrongType);
  }
  std::vector<SortItem> items;
  if (meta) {
    Status s = ReadElements(ctx, *meta, &items);
    if (!s.ok()) return ReplyStatus(ctx.out, s);
  }
  // Unsorted sorted sets still honour DESC (their natural order reversed).
  if (options.dont_sort && meta && meta->type == ValueType::kZSet && options.desc) {
    std::reverse(items.begin(), items.end());
  }
  if (!options.dont_sort) {
    for (SortItem& item : items) {
      std::optional<std::string> weight;
      if (options.by) {
        Result<std::optional<std::string>> got = LookupPattern(ctx, *options.by, item.element);
        if (!got.ok()) return ReplyStatus(ctx.out, got.status());
        weight = std::move(got).value();
      }
      if (options.alpha) {
        if (options.by) item.weight = std::move(weight);
      } else {
        const std::string& number = options.by ? (weight ? *weight : std::string()) : item.element;
        if (!number.empty() || !options.by) {
          if (!ParseWeight(number, &item.score)) {
            return ctx.out->Error("ERR One or more scores can't be converted into double");
          }
        }
      }
    }
    auto compare = [&](const SortItem& x, const SortItem& y) {
      int cmp = 0;
      if (!options.alpha) {
        cmp = x.score < y.score ? -1 : (x.score > y.score ? 1 : Compare(x.element, y.element));
      } else if (options.by) {
        if (!x.weight || !y.weight) {
          cmp = x.weight.has_value() == y.weight.has_value() ? 0 : (x.weight ? 1 : -1);
        } else {
          cmp = Compare(*x.weight, *y.weight);
        }
      } else {
        cmp = Compare(x.element, y.element);
      }
      return options.desc ? cmp > 0 : cmp < 0;
    };
    std::stable_sort(items.begin(), items.end(), compare);
  }
  // LIMIT, as Redis clamps it.
  const int64_t n = static_cast<int64_t>(items.size());
  int64_t start = std::max<int64_t>(options.offset, 0);
  int64_t end = options.count < 0 ? n - 1 : start + options.count - 1;
  if (options.count >= 0 && start > INT64_MAX - options.count) end = n - 1;
  if (start >= n) {
    start = n - 1;
    end = n - 2;
  }
  if (end >= n) end = n - 1;
  std::vector<std::optional<std::string>> output;
  for (int64_t i = start; i <= end; i++) {
    const std::string& element = items[static_cast<size_t>(i)].element;
    if (options.gets.empty()) {
      output.emplace_back(element);
      continue;
    }
    for (const std::string& pattern : options.gets) {
      Result<std::optional<std::string>> got = LookupPattern(ctx, pattern, element);
      if (!got.ok()) return ReplyStatus(ctx.out, got.status());
      output.push_back(std::move(got).value());
    }
  }
  if (!options.store) {
    ctx.out->Array(output.size());
    for (const auto& v : output) {
      if (v) {
        ctx.out->Bulk(*v);
      } else {
        ctx.out->Null();
      }
    }
    return;
  }
  Status s = DeleteAnyKey(ctx, *options.store);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  Metadata list;
  list.type = ValueType::kList;
  list.version = ctx.server->versions.Next();
  list.head = kListInitialHead;
  for (const auto& v : output) {
    ctx.txn->PutRaw(ListElementKey(list.version, list.head + list.count), v ? *v : "");
    list.count++;
  }
  StoreCollection(ctx, *options.store, list);
  if (list.count > 0) ServeBlockedClients(ctx, *options.store);
  ctx.out->Integer(static_cast<int64_t>(output.size()));
}

}  // namespace

void CmdSort(CommandContext& ctx) { SortGeneric(ctx, false); }
void CmdSortRo(CommandContext& ctx) { SortGeneric(ctx, true); }

}  // namespace cloudkv::server
