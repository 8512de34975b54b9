// SPDX-License-Identifier: Apache-2.0
// Command helpers shared by the handler files (numbers, globs, SCAN options), and the cursor
// table.
#include "server/commands.h"

#include <cassert>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace cloudkv::server {

uint64_t CursorTable::Save(uint64_t owner, std::string last_key) {
  std::lock_guard lock(mu_);
  uint64_t id = next_++;
  map_[id] = Entry{owner, std::move(last_key)};
  std::deque<uint64_t>& mine = by_owner_[owner];
  mine.push_back(id);
  while (mine.size() > per_owner_) {
    map_.erase(mine.front());
    mine.pop_front();
  }
  assert(mine.size() <= per_owner_);
  return id;
}

std::optional<std::string> CursorTable::Find(uint64_t cursor) {
  std::lock_guard lock(mu_);
  auto it = map_.find(cursor);
  if (it == map_.end()) return std::nullopt;
  return it->second.last_key;
}

void CursorTable::ForgetOwner(uint64_t owner) {
  std::lock_guard lock(mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return;
  for (uint64_t id : it->second) map_.erase(id);
  by_owner_.erase(it);
}

size_t CursorTable::size() {
  std::lock_guard lock(mu_);
  return map_.size();
}

ServerState::ServerState(DB* db_in, ServerConfig config_in, uint64_t writer_epoch)
    : db(db_in),
      config(std::move(config_in)),
      tracker(db_in),
      versions(writer_epoch),
      cursors(config.max_scan_cursors_per_client),
      keyspace(db_in),
      metrics(AllCommands().size()),
      start_ms(NowMs()) {}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] == '0' && s.size() > i + 1) return false;  // leading zeros
  if (s[i] == '0' && negative) return false;          // "-0"
  uint64_t v = 0;
  for (; i < s.size(); i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (negative) {
    if (v > uint64_t{1} << 63) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

bool ParseLongDouble(std::string_view s, long double* out) {
  if (s.empty() || s.size() > 5000) return false;
  if (std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || std::isnan(v)) return false;
  if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || std::fpclassify(v) == FP_ZERO)) {
    return false;
  }
  *out = v;
  return true;
}

std::string FormatLongDouble(long double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[5400];
  int len = std::snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (len <= 0 || static_cast<size_t>(len) >= sizeof(buf)) return "0";
  std::string s(buf, static_cast<size_t>(len));
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

void ReplyStatus(ReplyWriter* out, const Status& status) { out->Error("ERR " + status.ToString()); }

bool ParseScanOptions(CommandContext& ctx, size_t cursor_index, uint32_t extra,
                      ScanOptions* options) {
  const auto& a = ctx.args;
  assert(cursor_index < a.size());
  if (!ParseInt64(a[cursor_index], &options->cursor) || options->cursor < 0) {
    ctx.out->Error("ERR invalid cursor");
    return false;
  }
  for (size_t i = cursor_index + 1; i < a.size(); i++) {
    std::string opt = Lower(a[i]);
    if (opt == "match" && i + 1 < a.size()) {
      options->pattern = a[++i];
      // As in Redis, "*" is no filter at all (it also returns the empty key or field, which
      // the glob "*" does not match).
      if (*options->pattern == "*") options->pattern.reset();
    } else if (opt == "count" && i + 1 < a.size()) {
      if (!ParseInt64(a[++i], &options->count)) {
        ctx.out->Error(kErrNotInteger);
        return false;
      }
      if (options->count < 1) {
        ctx.out->Error(kErrSyntax);
        return false;
      }
    } else if ((extra & ScanOptions::kType) && opt == "type" && i + 1 < a.size()) {
      options->type = Lower(a[++i]);
    } else if ((extra & ScanOptions::kNoValues) && opt == "novalues") {
      options->novalues = true;
    } else {
      ctx.out->Error(kErrSyntax);
      return false;
    }
  }
  return true;
}

bool FindScanStart(CommandContext& ctx, int64_t cursor, std::optional<std::string>* start_after) {
  start_after->reset();
  if (cursor == 0) return true;
  *start_after = ctx.server->cursors.Find(static_cast<uint64_t>(cursor));
  if (!start_after->has_value()) {
    ctx.out->Error("ERR invalid cursor");
    return false;
  }
  return true;
}

bool ReadString(CommandContext& ctx, std::string_view key, std::optional<Metadata>* meta) {
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(key);
  if (!got.ok()) {
    ReplyStatus(ctx.out, got.status());
    return false;
  }
  if (got->has_value() && (*got)->type != ValueType::kString) {
    ctx.out->Error(kErrWrongType);
    return false;
  }
  *meta = std::move(got).value();
  return true;
}

bool ReadHash(CommandContext& ctx, std::string_view key, std::optional<Metadata>* meta) {
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(key);
  if (!got.ok()) {
    ReplyStatus(ctx.out, got.status());
    return false;
  }
  if (got->has_value() && (*got)->type != ValueType::kHash) {
    ctx.out->Error(kErrWrongType);
    return false;
  }
  *meta = std::move(got).value();
  return true;
}

bool ReadTyped(CommandContext& ctx, std::string_view key, ValueType type,
               std::optional<Metadata>* meta) {
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(key);
  if (!got.ok()) {
    ReplyStatus(ctx.out, got.status());
    return false;
  }
  if (got->has_value() && (*got)->type != type) {
    ctx.out->Error(kErrWrongType);
    return false;
  }
  *meta = std::move(got).value();
  return true;
}

bool OpenCollection(CommandContext& ctx, std::string_view key, ValueType type, Metadata* meta,
                    bool* created) {
  assert(IsCollection(type));
  std::optional<Metadata> got;
  if (!ReadTyped(ctx, key, type, &got)) return false;
  if (created != nullptr) *created = !got.has_value();
  if (got) {
    *meta = std::move(*got);
    return true;
  }
  *meta = Metadata();
  meta->type = type;
  meta->version = ctx.server->versions.Next();
  meta->count = 0;
  meta->head = kListInitialHead;
  return true;
}

void StoreCollection(CommandContext& ctx, std::string_view key, const Metadata& meta) {
  assert(IsCollection(meta.type));
  if (meta.count == 0) {
    ctx.txn->DeleteMeta(key);
  } else {
    ctx.txn->PutMeta(key, meta);
  }
}

Status DeleteAnyKey(CommandContext& ctx, std::string_view key) {
  Result<std::optional<Metadata>> got = ctx.txn->GetMeta(key);
  if (!got.ok()) return got.status();
  if (got->has_value()) ctx.txn->DeleteKey(key, **got);
  return Status::OK();
}

bool ParseDouble(std::string_view s, double* out) {
  long double v = 0;
  if (!ParseLongDouble(s, &v)) return false;
  *out = static_cast<double>(v);
  return !std::isnan(*out);
}

bool NormalizeRange(int64_t start, int64_t stop, uint64_t length, uint64_t* first, uint64_t* last) {
  const int64_t n = static_cast<int64_t>(length);
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return false;
  if (stop >= n) stop = n - 1;
  *first = static_cast<uint64_t>(start);
  *last = static_cast<uint64_t>(stop);
  return true;
}

uint64_t RandomU64() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

void CommandKeys(const CommandSpec& spec, const std::vector<std::string>& args,
                 std::vector<std::string_view>* keys) {
  keys->clear();
  if (spec.first_key <= 0) return;
  int last = spec.last_key < 0 ? static_cast<int>(args.size()) + spec.last_key : spec.last_key;
  for (int i = spec.first_key; i <= last && i < static_cast<int>(args.size()); i += spec.step) {
    keys->emplace_back(args[static_cast<size_t>(i)]);
  }
}

bool ArityOk(const CommandSpec& spec, size_t argc) {
  if (spec.arity >= 0) return argc == static_cast<size_t>(spec.arity);
  return argc >= static_cast<size_t>(-spec.arity);
}

}  // namespace cloudkv::server
