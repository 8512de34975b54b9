// SPDX-License-Identifier: Apache-2.0
// Tunables: Redis 7.0's encoding and memory parameters, with its defaults, aliases, value
// checks and error texts, so that tools and test suites that set them keep working.
#include <algorithm>
#include <cassert>

#include "server/commands.h"

namespace cloudkv::server {
namespace {

struct TunableSpec {
  const char* name;
  const char* alias;  // the pre-7.0 "ziplist" name, or null
  enum Kind { kInteger, kMemory, kBool, kPolicy } kind;
  int64_t min, max;  // kInteger
  const char* default_value;
};

constexpr int64_t kIntMax = 2147483647;
constexpr int64_t kIntMin = -kIntMax - 1;
constexpr int64_t kLongMax = INT64_MAX;

const TunableSpec kTunables[] = {
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", TunableSpec::kInteger, 0, kLongMax,
     "512"},
    {"hash-max-listpack-value", "hash-max-ziplist-value", TunableSpec::kMemory, 0, 0, "64"},
    {"list-max-listpack-size", "list-max-ziplist-size", TunableSpec::kInteger, kIntMin, kIntMax,
     "-2"},
    {"list-compress-depth", nullptr, TunableSpec::kInteger, 0, kIntMax, "0"},
    {"set-max-intset-entries", nullptr, TunableSpec::kInteger, 0, kLongMax, "512"},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", TunableSpec::kInteger, 0, kLongMax,
     "128"},
    {"zset-max-listpack-value", "zset-max-ziplist-value", TunableSpec::kMemory, 0, 0, "64"},
    {"stream-node-max-bytes", nullptr, TunableSpec::kMemory, 0, 0, "4096"},
    {"stream-node-max-entries", nullptr, TunableSpec::kInteger, 0, kLongMax, "100"},
    {"hll-sparse-max-bytes", nullptr, TunableSpec::kMemory, 0, 0, "3000"},
    {"activerehashing", nullptr, TunableSpec::kBool, 0, 0, "yes"},
    {"maxmemory", nullptr, TunableSpec::kMemory, 0, 0, "0"},
    {"maxmemory-policy", nullptr, TunableSpec::kPolicy, 0, 0, "noeviction"},
    {"maxmemory-samples", nullptr, TunableSpec::kInteger, 1, kIntMax, "5"},
    {"maxmemory-eviction-tenacity", nullptr, TunableSpec::kInteger, 0, 100, "10"},
    {"lfu-log-factor", nullptr, TunableSpec::kInteger, 0, kIntMax, "10"},
    {"lfu-decay-time", nullptr, TunableSpec::kInteger, 0, kIntMax, "1"},
    {"lazyfree-lazy-eviction", nullptr, TunableSpec::kBool, 0, 0, "no"},
    {"lazyfree-lazy-expire", nullptr, TunableSpec::kBool, 0, 0, "no"},
    {"lazyfree-lazy-server-del", nullptr, TunableSpec::kBool, 0, 0, "no"},
    {"lazyfree-lazy-user-del", nullptr, TunableSpec::kBool, 0, 0, "no"},
    {"lazyfree-lazy-user-flush", nullptr, TunableSpec::kBool, 0, 0, "no"},
};

constexpr const char* kPolicies[] = {"volatile-lru",   "volatile-lfu", "volatile-random",
                                     "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
                                     "allkeys-random", "noeviction"};

const TunableSpec* FindTunable(std::string_view name) {
  for (const TunableSpec& spec : kTunables) {
    if (EqualsIgnoreCase(name, spec.name) ||
        (spec.alias != nullptr && EqualsIgnoreCase(name, spec.alias))) {
      return &spec;
    }
  }
  return nullptr;
}

// Redis's memory values: digits with an optional unit (k/kb/m/mb/g/gb, any case; "kb" is
// 1024, "k" 1000). Nullopt if not one, or negative.
std::optional<int64_t> ParseMemory(std::string_view s) {
  struct Unit {
    const char* suffix;
    int64_t factor;
  };
  static constexpr Unit kUnits[] = {{"kb", 1024}, {"mb", 1024 * 1024}, {"gb", 1024ll << 20},
                                    {"k", 1000},  {"m", 1000 * 1000},  {"g", 1000ll * 1000 * 1000},
                                    {"b", 1}};
  int64_t factor = 1;
  std::string lower = Lower(s);
  for (const Unit& unit : kUnits) {
    std::string_view suffix = unit.suffix;
    if (lower.size() > suffix.size() && lower.ends_with(suffix)) {
      factor = unit.factor;
      lower.resize(lower.size() - suffix.size());
      break;
    }
  }
  int64_t v = 0;
  if (!ParseInt64(lower, &v) || v < 0 || v > INT64_MAX / factor) return std::nullopt;
  return v * factor;
}

// The stored form of a valid value, or the reason it is not one.
bool Normalize(const TunableSpec& spec, std::string_view value, std::string* stored,
               std::string* reason) {
  switch (spec.kind) {
    case TunableSpec::kInteger: {
      int64_t v = 0;
      if (!ParseInt64(value, &v)) {
        *reason = "argument couldn't be parsed into an integer";
        return false;
      }
      if (v < spec.min || v > spec.max) {
        *reason = "argument must be between " + std::to_string(spec.min) + " and " +
                  std::to_string(spec.max) + " inclusive";
        return false;
      }
      *stored = std::to_string(v);
      return true;
    }
    case TunableSpec::kMemory: {
      std::optional<int64_t> v = ParseMemory(value);
      if (!v) {
        *reason = "argument must be a memory value";
        return false;
      }
      *stored = std::to_string(*v);
      return true;
    }
    case TunableSpec::kBool:
      if (!EqualsIgnoreCase(value, "yes") && !EqualsIgnoreCase(value, "no")) {
        *reason = "argument must be 'yes' or 'no'";
        return false;
      }
      *stored = Lower(value);
      return true;
    case TunableSpec::kPolicy:
      for (const char* policy : kPolicies) {
        if (EqualsIgnoreCase(value, policy)) {
          *stored = policy;
          return true;
        }
      }
      *reason = "argument(s) must be one of the following: ";
      for (const char* policy : kPolicies) {
        if (policy != kPolicies[0]) *reason += ", ";
        *reason += policy;
      }
      return false;
  }
  return false;
}

}  // namespace

Tunables::Tunables() {
  for (const TunableSpec& spec : kTunables) values_[spec.name] = spec.default_value;
}

std::string Tunables::Get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(std::string(name));
  return it == values_.end() ? std::string() : it->second;
}

bool Tunables::Known(std::string_view name) { return FindTunable(name) != nullptr; }

std::vector<std::pair<std::string, std::string>> Tunables::Match(std::string_view pattern) const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  const std::string lower = Lower(pattern);
  for (const TunableSpec& spec : kTunables) {
    const std::string& value = values_.at(spec.name);
    if (GlobMatch(lower, spec.name)) out.emplace_back(spec.name, value);
    if (spec.alias != nullptr && GlobMatch(lower, spec.alias)) out.emplace_back(spec.alias, value);
  }
  return out;
}

std::optional<std::string> Tunables::Set(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<std::pair<const TunableSpec*, std::string>> updates;
  std::vector<std::string> names;  // as given, lower case: an alias and its name may both come
  for (const auto& pair : pairs) {
    const std::string& name = pair.first;
    const std::string& value = pair.second;
    const TunableSpec* spec = FindTunable(name);
    assert(spec != nullptr);  // REQUIRES: Known(name)
    auto failed = [&](std::string_view why) {
      return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " +
             std::string(why);
    };
    if (std::find(names.begin(), names.end(), Lower(name)) != names.end()) {
      return failed("duplicate parameter");
    }
    names.push_back(Lower(name));
    std::string stored, reason;
    if (!Normalize(*spec, value, &stored, &reason)) return failed(reason);
    updates.emplace_back(spec, std::move(stored));
  }
  std::lock_guard lock(mu_);
  for (auto& [spec, stored] : updates) values_[spec->name] = std::move(stored);
  return std::nullopt;
}

}  // namespace cloudkv::server
