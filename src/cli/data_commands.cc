// SPDX-License-Identifier: Apache-2.0
// The data commands of `cloudkv`: get/put/del/scan/load/dump/stats/gc (see commands.h and
// docs/cli.md). Commands that only read open the database read-only (no fencing of a running
// writer, nothing created); put/del/load open it as the writer, which fences any other writer
// (e.g. a running `cloudkv serve`).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cloudkv/clock.h"
#include "cloudkv/db.h"
#include "cloudkv/object_store.h"
#include "cloudkv/tools.h"
#include "redis/key_encoding.h"

namespace cloudkv::cli {
namespace {

Result<std::unique_ptr<DB>> OpenDb(const std::string& url, bool read_only, bool create) {
  Options options;
  options.read_only = read_only;
  options.create_if_missing = !read_only;
  options.create_in_non_empty_location = create;
  auto db = DB::Open(url, options);
  if (!db.ok()) {
    std::cerr << "cloudkv: cannot open " << url << ": " << db.status().ToString() << "\n";
  }
  return db;
}

// Opens the database read-only, at `as_of` (a ReadPoint spelling) when it is not empty.
Result<std::unique_ptr<DB>> OpenForRead(const std::string& url, const std::string& as_of) {
  if (as_of.empty()) return OpenDb(url, true, false);
  auto point = ReadPoint::Parse(as_of, SystemClock()->NowMicros());
  if (!point.ok()) {
    std::cerr << "cloudkv: --as-of: " << point.status().ToString() << "\n";
    return point.status();
  }
  auto db = DB::OpenAt(url, *point, Options());
  if (!db.ok()) {
    std::cerr << "cloudkv: cannot open " << url << " at " << point->ToString() << ": "
              << db.status().ToString() << "\n";
  }
  return db;
}

int Fail(const Status& status, std::string_view what) {
  std::cerr << "cloudkv: " << what << ": " << status.ToString() << "\n";
  return kExitFailure;
}

int CloseDb(DB* db) {
  Status s = db->Close();
  return s.ok() ? kExitOk : Fail(s, "close");
}

std::string Json(std::string_view bytes) { return "\"" + tools::EscapeJson(bytes) + "\""; }

// Progress on a terminal: rewrites one stderr line at most 5 times a second.
class Progress {
 public:
  explicit Progress(const char* verb) : verb_(verb), enabled_(isatty(STDERR_FILENO) != 0) {}
  void Update(uint64_t records, uint64_t bytes) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    std::fprintf(stderr, "\r%s %llu records, %.1f MiB", verb_,
                 static_cast<unsigned long long>(records), static_cast<double>(bytes) / (1 << 20));
  }
  void Done(uint64_t records, uint64_t bytes) {
    if (!enabled_) return;
    last_ = {};
    Update(records, bytes);
    std::fprintf(stderr, "\n");
  }

 private:
  const char* verb_;
  bool enabled_;
  std::chrono::steady_clock::time_point last_{};
};

// The smallest key above every key starting with `prefix` ("" if there is none).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

// Visits entries in key order (or reverse) within the bounds, at most `limit` (0 = all); `fn`
// returns false to stop.
Status Scan(DB* db, const ScanArgs& args,
            const std::function<bool(std::string_view, std::string_view)>& fn) {
  ReadOptions options;
  std::string lower = args.start, upper = args.end;
  if (!args.prefix.empty()) {
    if (lower < args.prefix) lower = args.prefix;
    std::string next = PrefixEnd(args.prefix);
    if (!next.empty() && (upper.empty() || next < upper)) upper = next;
  }
  if (!lower.empty()) options.lower_bound = lower;
  if (!upper.empty()) options.upper_bound = upper;
  std::unique_ptr<Iterator> it = db->NewIterator(options);
  uint64_t n = 0;
  if (args.reverse) {
    for (it->SeekToLast(); it->Valid() && (args.limit == 0 || n < args.limit); it->Prev(), n++) {
      if (!fn(it->key(), it->value())) break;
    }
  } else {
    for (it->SeekToFirst(); it->Valid() && (args.limit == 0 || n < args.limit); it->Next(), n++) {
      if (!fn(it->key(), it->value())) break;
    }
  }
  return it->status();
}

// --- The server's encoding (--redis) ---------------------------------------------------------

// The element records of a collection, in key order: (record key suffix after the version,
// value) for hashes, lists and sets; zsets are read through their score index instead.
Status ReadElements(DB* db, const redis::Metadata& meta,
                    const std::function<void(std::string_view, std::string_view)>& fn) {
  ScanArgs fields;
  fields.start = redis::FieldPrefix(meta.version);
  fields.end = redis::FieldPrefix(meta.version + 1);
  return Scan(db, fields, [&](std::string_view key, std::string_view value) {
    auto field = redis::DecodeFieldKey(key);
    if (field) fn(field->second, value);
    return true;
  });
}

// A zset's members in score order, with their scores.
Status ReadZSetMembers(DB* db, const redis::Metadata& meta,
                       const std::function<void(std::string_view, double)>& fn) {
  ScanArgs index;
  index.start = redis::ZSetIndexPrefix(meta.version);
  index.end = index.start;
  index.end.back()++;
  return Scan(db, index, [&](std::string_view key, std::string_view) {
    auto entry = redis::DecodeZSetIndexKey(key);
    if (entry) fn(entry->second, entry->first);
    return true;
  });
}

// A score as Redis replies it: the shortest text that reads back as the same double.
std::string FormatScore(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), score);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(score);
}

// Prints one Redis key. TSV: "key<TAB>string<TAB>value"; one line per element for the
// collections: "key<TAB>hash<TAB>field<TAB>value", "key<TAB>list<TAB>element" (in list order),
// "key<TAB>set<TAB>member", "key<TAB>zset<TAB>member<TAB>score" (in score order). JSON:
// {"key","type","value"}, {"key","type":"hash","fields":{...}}, {"key","type":"list",
// "elements":[...]}, {"key","type":"set","members":[...]} or {"key","type":"zset",
// "members":[{"member","score"}...]} (scores as strings, as Redis replies them: "inf" too).
Status PrintRedisValue(DB* db, std::string_view user_key, const redis::Metadata& meta, bool json) {
  const std::string type = redis::TypeName(meta.type);
  if (meta.type == redis::ValueType::kString) {
    if (json) {
      std::cout << "{\"key\":" << Json(user_key)
                << ",\"type\":\"string\",\"value\":" << Json(meta.value) << "}\n";
    } else {
      std::cout << EscapeTsv(user_key) << "\tstring\t" << EscapeTsv(meta.value) << "\n";
    }
    return Status::OK();
  }
  std::string out;
  bool first = true;
  const std::string line_prefix = EscapeTsv(user_key) + "\t" + type + "\t";
  auto add = [&](std::string_view json_item, std::string_view tsv_line) {
    if (json) {
      out += (first ? "" : ",");
      out += json_item;
    } else {
      out += line_prefix;
      out += tsv_line;
      out += "\n";
    }
    first = false;
  };
  Status s;
  const char* container = "";
  switch (meta.type) {
    case redis::ValueType::kHash:
      container = "fields";
      s = ReadElements(db, meta, [&](std::string_view field, std::string_view value) {
        add(Json(field) + ":" + Json(value), EscapeTsv(field) + "\t" + EscapeTsv(value));
      });
      break;
    case redis::ValueType::kList:
      container = "elements";
      s = ReadElements(db, meta, [&](std::string_view, std::string_view value) {
        add(Json(value), EscapeTsv(value));
      });
      break;
    case redis::ValueType::kSet:
      container = "members";
      s = ReadElements(db, meta, [&](std::string_view member, std::string_view) {
        add(Json(member), EscapeTsv(member));
      });
      break;
    case redis::ValueType::kZSet:
      container = "members";
      s = ReadZSetMembers(db, meta, [&](std::string_view member, double score) {
        const std::string text = FormatScore(score);
        add("{\"member\":" + Json(member) + ",\"score\":" + Json(text) + "}",
            EscapeTsv(member) + "\t" + text);
      });
      break;
    case redis::ValueType::kString:
      break;
  }
  if (!s.ok()) return s;
  if (json) {
    const bool object = meta.type == redis::ValueType::kHash;
    std::cout << "{\"key\":" << Json(user_key) << ",\"type\":\"" << type << "\",\"" << container
              << "\":" << (object ? "{" : "[") << out << (object ? "}" : "]") << "}\n";
  } else {
    std::cout << out;
  }
  return Status::OK();
}

int GetRedis(DB* db, const std::string& key, bool json) {
  auto got = db->Get(ReadOptions(), redis::MetaKey(key));
  if (got.ok()) {
    auto meta = redis::DecodeOwnedMetadata(key, std::move(got).value());
    if (!meta.ok()) return Fail(meta.status(), "get --redis");
    if (!meta->ExpiredAt(redis::NowMs())) {
      Status s = PrintRedisValue(db, key, *meta, json);
      return s.ok() ? CloseDb(db) : Fail(s, "get --redis");
    }
  } else if (!got.status().IsNotFound()) {
    return Fail(got.status(), "get --redis");
  }
  std::cerr << "cloudkv: key not found: " << key << " (as written by cloudkv serve)\n";
  (void)db->Close();
  return kExitFailure;
}

int ScanRedis(DB* db, const ScanArgs& args) {
  // The user keys' bounds, moved into the metadata records' key range [M, N).
  ScanArgs meta_args = args;
  const std::string meta_prefix(1, redis::kMetaPrefix);
  meta_args.prefix = meta_prefix + args.prefix;
  meta_args.start = args.start.empty() ? "" : meta_prefix + args.start;
  meta_args.end = args.end.empty() ? "" : meta_prefix + args.end;
  const uint64_t now_ms = redis::NowMs();
  Status printed;
  Status s = Scan(db, meta_args, [&](std::string_view key, std::string_view value) {
    auto user_key = redis::UserKeyOfMetaKey(key);
    if (!user_key) return true;
    auto meta = redis::DecodeMetadata(*user_key, value);
    if (!meta.ok()) {
      printed = meta.status();
      return false;
    }
    if (meta->ExpiredAt(now_ms)) return true;
    printed = PrintRedisValue(db, *user_key, *meta, args.json);
    return printed.ok();
  });
  if (s.ok()) s = printed;
  return s.ok() ? CloseDb(db) : Fail(s, "scan --redis");
}

// --- load ------------------------------------------------------------------------------------

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Why a TSV line is not a record, or nullopt if it is one (then *kv holds it).
std::optional<std::string> ParseTsvLine(std::string_view line,
                                        std::optional<std::pair<std::string, std::string>>* kv) {
  size_t tab = line.find('\t');
  if (tab == std::string::npos) return "no TAB between key and value";
  auto k = UnescapeTsv(line.substr(0, tab));
  if (!k) return "bad escape in the key (allowed: \\t \\n \\r \\\\ \\xHH)";
  auto v = UnescapeTsv(line.substr(tab + 1));
  if (!v) return "bad escape in the value (allowed: \\t \\n \\r \\\\ \\xHH)";
  *kv = std::make_pair(std::move(*k), std::move(*v));
  return std::nullopt;
}

// Opens the input of `load`; prints why it cannot and returns null.
std::istream* OpenInput(const std::string& file, std::ifstream* in_file) {
  if (file == "-") {
    // std::cin synchronised with stdio reads a character at a time; unsynchronised it is as
    // fast as a file.
    std::ios::sync_with_stdio(false);
    return &std::cin;
  }
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    std::cerr << "cloudkv: load: cannot read " << file << ": " << std::strerror(errno) << "\n";
    return nullptr;
  }
  if (S_ISDIR(st.st_mode)) {
    std::cerr << "cloudkv: load: " << file << " is a directory; give a file (or - for stdin)\n";
    return nullptr;
  }
  in_file->open(file, std::ios::binary);
  if (!*in_file) {
    std::cerr << "cloudkv: load: cannot read " << file << ": " << std::strerror(errno) << "\n";
    return nullptr;
  }
  return in_file;
}

}  // namespace

std::string NormalizeUrl(const std::string& url_or_path) {
  if (!url_or_path.empty() && url_or_path.front() == '/') return "file://" + url_or_path;
  return url_or_path;
}

int Put(const OpenArgs& open, const std::string& key, const std::string& value) {
  auto db = OpenDb(open.url, false, open.create);
  if (!db.ok()) return kExitFailure;
  Status s = (*db)->Put(WriteOptions(), key, value);
  return s.ok() ? CloseDb(db->get()) : Fail(s, "put");
}

int Del(const OpenArgs& open, const std::string& key) {
  auto db = OpenDb(open.url, false, open.create);
  if (!db.ok()) return kExitFailure;
  Status s = (*db)->Delete(WriteOptions(), key);
  return s.ok() ? CloseDb(db->get()) : Fail(s, "del");
}

int Get(const std::string& url, const std::string& key, bool redis, bool json,
        const std::string& as_of) {
  auto db = OpenForRead(url, as_of);
  if (!db.ok()) return kExitFailure;
  if (redis) return GetRedis(db->get(), key, json);
  auto got = (*db)->Get(ReadOptions(), key);
  if (got.ok()) {
    if (json) {
      std::cout << "{\"key\":" << Json(key) << ",\"value\":" << Json(*got) << "}\n";
    } else {
      std::cout << *got << "\n";
    }
    return CloseDb(db->get());
  }
  if (!got.status().IsNotFound()) return Fail(got.status(), "get");
  std::cerr << "cloudkv: key not found: " << key << "\n";
  (void)(*db)->Close();
  return kExitFailure;
}

int ScanCommand(const std::string& url, const ScanArgs& args) {
  auto db = OpenForRead(url, args.as_of);
  if (!db.ok()) return kExitFailure;
  if (args.redis) return ScanRedis(db->get(), args);
  Status s = Scan(db->get(), args, [&](std::string_view k, std::string_view v) {
    if (args.json) {
      std::cout << "{\"key\":" << Json(k) << ",\"value\":" << Json(v) << "}\n";
    } else {
      std::cout << EscapeTsv(k) << '\t' << EscapeTsv(v) << '\n';
    }
    return true;
  });
  return s.ok() ? CloseDb(db->get()) : Fail(s, "scan");
}

int Load(const OpenArgs& open, const std::string& file, const std::string& format,
         bool format_given, bool flush) {
  const bool looks_json =
      EndsWith(file, ".json") || EndsWith(file, ".jsonl") || EndsWith(file, ".ndjson");
  if (looks_json && !format_given) {
    std::cerr << "cloudkv: load: " << file
              << " looks like JSON lines; pass --format json (or --format tsv if it is TSV)\n";
    return kExitFailure;
  }
  std::ifstream in_file;
  std::istream* in = OpenInput(file, &in_file);
  if (in == nullptr) return kExitFailure;
  auto db = OpenDb(open.url, false, open.create);
  if (!db.ok()) return kExitFailure;
  WriteBatch batch;
  uint64_t written = 0, pending = 0, bytes = 0, line_no = 0;
  Progress progress("loaded");
  std::string line;
  constexpr size_t kBatchBytes = 4 << 20;
  auto write_pending = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    Status s = (*db)->Write(WriteOptions(), batch);
    if (s.ok()) written += pending;
    pending = 0;
    batch.Clear();
    return s;
  };
  while (std::getline(*in, line)) {
    line_no++;
    if (line.empty()) continue;
    std::optional<std::pair<std::string, std::string>> kv;
    std::optional<std::string> why;
    if (format == "json") {
      kv = ParseJsonRecord(line);
      if (!kv) why = "not a {\"key\": \"...\", \"value\": \"...\"} object";
    } else {
      why = ParseTsvLine(line, &kv);
      if (why && !line.empty() && line.front() == '{') why = *why + "; JSON? pass --format json";
    }
    if (why) {
      // The records before the bad line are written, so the load can resume after it.
      Status s = write_pending();
      if (!s.ok()) return Fail(s, "write");
      progress.Done(written, bytes);
      std::cerr << "cloudkv: load: " << (file == "-" ? "stdin" : file) << ":" << line_no
                << ": malformed " << format << " record: " << *why << "\n"
                << "cloudkv: load: the " << written << " records before line " << line_no
                << " are loaded and durable; fix the line and load from line " << line_no
                << " on (tail -n +" << line_no << ")\n";
      (void)(*db)->Close();
      return kExitFailure;
    }
    batch.Put(kv->first, kv->second);
    pending++;
    bytes += kv->first.size() + kv->second.size();
    if (batch.ByteSize() >= kBatchBytes) {
      Status s = write_pending();
      if (!s.ok()) return Fail(s, "write");
    }
    progress.Update(written + pending, bytes);
  }
  if (in->bad()) {
    std::cerr << "cloudkv: load: read error on " << file << " after line " << line_no << "\n";
    (void)(*db)->Close();
    return kExitFailure;
  }
  if (Status s = write_pending(); !s.ok()) return Fail(s, "write");
  progress.Done(written, bytes);
  if (flush) {
    Status s = (*db)->Flush();
    if (!s.ok()) return Fail(s, "flush");
  }
  return CloseDb(db->get());
}

int Dump(const std::string& url, const std::string& file, const std::string& format,
         const ScanArgs& args) {
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (!file.empty() && file != "-") {
    out_file.open(file, std::ios::binary | std::ios::trunc);
    if (!out_file) {
      std::cerr << "cloudkv: dump: cannot write " << file << ": " << std::strerror(errno) << "\n";
      return kExitFailure;
    }
    out = &out_file;
  }
  auto db = OpenDb(url, true, false);
  if (!db.ok()) return kExitFailure;
  uint64_t records = 0, bytes = 0;
  Progress progress("dumped");
  Status s = Scan(db->get(), args, [&](std::string_view k, std::string_view v) {
    if (format == "json") {
      *out << "{\"key\":" << Json(k) << ",\"value\":" << Json(v) << "}\n";
    } else {
      *out << EscapeTsv(k) << '\t' << EscapeTsv(v) << '\n';
    }
    records++;
    bytes += k.size() + v.size();
    progress.Update(records, bytes);
    return true;
  });
  progress.Done(records, bytes);
  out->flush();
  if (!s.ok()) return Fail(s, "scan");
  if (!*out) {
    std::cerr << "cloudkv: dump: write error\n";
    return kExitFailure;
  }
  return CloseDb(db->get());
}

}  // namespace cloudkv::cli
