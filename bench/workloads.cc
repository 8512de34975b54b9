// SPDX-License-Identifier: Apache-2.0
// Workload definitions. Every workload is a per-thread loop of timed operations; the loop
// stops after the thread's share of the operation count or, with --duration, at the deadline.
#include "workloads.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "generators.h"
#include "util/hash.h"

namespace cloudkv::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

uint64_t NanosBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

// splitmix64: decorrelates the seeds of threads and workloads.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Worker {
  Worker(int id, uint64_t seed) : tid(id), rnd(seed) {}
  int tid;
  Random rnd;
  LatencyHistogram latency;
  uint64_t ops = 0;
  uint64_t found = 0;
  uint64_t reads = 0;
  uint64_t bytes_written = 0;
  uint64_t bytes_read = 0;
  Status status;
  std::string key;
};

class Runner {
 public:
  Runner(std::string_view name, int index, BenchEngine& engine, const WorkloadFlags& flags,
         RunState& state)
      : name_(name),
        index_(index),
        engine_(engine),
        flags_(flags),
        state_(state),
        values_(Mix(flags.seed ^ 0x76616c756573ull)) {}

  WorkloadResult Run();

 private:
  using Op = std::function<Status(Worker&, uint64_t i)>;

  // Runs `op` for i = 0, 1, ... until the thread's quota (in ops) or the deadline, timing each
  // call. An op returns how many operations it completed through `ops` of the worker; a non-OK
  // status other than NotFound stops every thread.
  void Loop(Worker& w, uint64_t quota, uint64_t ops_per_call, const Op& op);
  uint64_t Quota(uint64_t total, int tid) const {
    uint64_t per = total / flags_.threads;
    return per + (static_cast<uint64_t>(tid) < total % flags_.threads ? 1 : 0);
  }
  uint64_t ReadCount() const { return flags_.reads > 0 ? flags_.reads : flags_.num; }
  uint64_t UniformKey(Worker& w) const { return w.rnd.Uniform(flags_.num); }
  uint64_t YcsbKey(Worker& w, bool latest) const;

  Status Put(Worker& w, uint64_t n);
  Status Read(Worker& w, std::string_view key);
  Status WriteBatchFrom(Worker& w, uint64_t first, bool sequential);
  void Body(Worker& w);
  void ReadWhileWritingWriter(Worker& w);

  std::string name_;
  int index_;
  BenchEngine& engine_;
  const WorkloadFlags& flags_;
  RunState& state_;
  ValueSource values_;
  std::unique_ptr<ZipfianGenerator> zipf_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stop_writer_{false};
  std::optional<SteadyClock::time_point> deadline_;
};

void Runner::Loop(Worker& w, uint64_t quota, uint64_t ops_per_call, const Op& op) {
  for (uint64_t i = 0; deadline_ || w.ops < quota; i++) {
    if (stop_.load(std::memory_order_relaxed)) return;
    SteadyClock::time_point start = SteadyClock::now();
    Status s = op(w, i);
    SteadyClock::time_point end = SteadyClock::now();
    if (!s.ok() && !s.IsNotFound()) {
      if (w.status.ok()) w.status = s.WithContext(name_);
      stop_ = true;
      return;
    }
    w.latency.Record(NanosBetween(start, end));
    w.ops += ops_per_call;
    if (deadline_ && end >= *deadline_) return;
  }
}

Status Runner::Put(Worker& w, uint64_t n) {
  FormatKey(n, flags_.key_size, &w.key);
  std::string_view value = values_.Value(flags_.value_size, w.rnd);
  std::pair<std::string_view, std::string_view> kv{w.key, value};
  w.bytes_written += w.key.size() + value.size();
  return engine_.Write({&kv, 1});
}

Status Runner::Read(Worker& w, std::string_view key) {
  std::string value;
  Status s = engine_.Get(key, &value);
  w.reads++;
  if (s.ok()) {
    w.found++;
    w.bytes_read += key.size() + value.size();
  }
  return s;
}

// Writes flags_.batch_size keys in one call: consecutive numbers from `first` when sequential,
// else uniformly random ones.
Status Runner::WriteBatchFrom(Worker& w, uint64_t first, bool sequential) {
  if (flags_.batch_size <= 1) return Put(w, sequential ? first : UniformKey(w));
  std::vector<std::string> keys(flags_.batch_size);
  std::vector<std::pair<std::string_view, std::string_view>> batch;
  batch.reserve(keys.size());
  for (size_t j = 0; j < keys.size(); j++) {
    uint64_t n = sequential ? (first + j) % flags_.num : UniformKey(w);
    FormatKey(n, flags_.key_size, &keys[j]);
    std::string_view value = values_.Value(flags_.value_size, w.rnd);
    batch.emplace_back(keys[j], value);
    w.bytes_written += keys[j].size() + value.size();
  }
  return engine_.Write(batch);
}

uint64_t Runner::YcsbKey(Worker& w, bool latest) const {
  uint64_t inserted = state_.next_insert.load(std::memory_order_relaxed);
  if (flags_.distribution == "uniform") return w.rnd.Uniform(inserted);
  if (latest) {
    // Workload D: recently inserted keys are the popular ones.
    uint64_t back = zipf_->Next(w.rnd);
    return back < inserted ? inserted - 1 - back : 0;
  }
  return zipf_->NextScrambled(w.rnd);
}

void Runner::ReadWhileWritingWriter(Worker& w) {
  while (!stop_writer_.load(std::memory_order_relaxed) && !stop_.load()) {
    Status s = Put(w, UniformKey(w));
    if (!s.ok()) {
      w.status = s.WithContext("readwhilewriting writer");
      stop_ = true;
      return;
    }
  }
}

void Runner::Body(Worker& w) {
  const uint64_t batch = std::max(1, flags_.batch_size);
  if (name_ == "fillseq") {
    uint64_t quota = Quota(flags_.num, w.tid);
    uint64_t first = 0;
    for (int t = 0; t < w.tid; t++) first += Quota(flags_.num, t);
    Loop(w, quota, batch, [&](Worker& w, uint64_t i) {
      return WriteBatchFrom(w, (first + i * batch) % flags_.num, true);
    });
  } else if (name_ == "fillrandom" || name_ == "overwrite") {
    Loop(w, Quota(flags_.num, w.tid), batch,
         [&](Worker& w, uint64_t) { return WriteBatchFrom(w, 0, false); });
  } else if (name_ == "deleterandom") {
    Loop(w, Quota(flags_.num, w.tid), 1, [&](Worker& w, uint64_t) {
      FormatKey(UniformKey(w), flags_.key_size, &w.key);
      return engine_.Delete(w.key);
    });
  } else if (name_ == "readrandom" || name_ == "readwhilewriting") {
    Loop(w, Quota(ReadCount(), w.tid), 1, [&](Worker& w, uint64_t) {
      FormatKey(UniformKey(w), flags_.key_size, &w.key);
      return Read(w, w.key);
    });
  } else if (name_ == "readmissing") {
    // key + "." sorts between two existing keys, so range checks cannot skip it.
    Loop(w, Quota(ReadCount(), w.tid), 1, [&](Worker& w, uint64_t) {
      FormatKey(UniformKey(w), flags_.key_size, &w.key);
      w.key.push_back('.');
      return Read(w, w.key);
    });
  } else if (name_ == "multireadrandom") {
    const uint64_t n = std::max(1, flags_.multiget_size);
    std::vector<std::string> keys(n);
    std::vector<std::string_view> views(n);
    std::vector<std::string> values;
    std::vector<Status> statuses;
    Loop(w, Quota(ReadCount(), w.tid), n, [&](Worker& w, uint64_t) {
      for (uint64_t j = 0; j < n; j++) {
        FormatKey(UniformKey(w), flags_.key_size, &keys[j]);
        views[j] = keys[j];
      }
      engine_.MultiGet(views, &values, &statuses);
      for (uint64_t j = 0; j < n; j++) {
        w.reads++;
        if (statuses[j].ok()) {
          w.found++;
          w.bytes_read += keys[j].size() + values[j].size();
        } else if (!statuses[j].IsNotFound()) {
          return statuses[j];
        }
      }
      return Status::OK();
    });
  } else if (name_ == "readseq" || name_ == "readreverse") {
    const bool forward = name_ == "readseq";
    std::unique_ptr<BenchCursor> cursor = engine_.NewCursor();
    if (forward)
      cursor->SeekToFirst();
    else
      cursor->SeekToLast();
    Loop(w, Quota(ReadCount(), w.tid), 1, [&](Worker& w, uint64_t) {
      if (!cursor->Valid()) {
        if (!cursor->status().ok()) return cursor->status();
        if (forward)
          cursor->SeekToFirst();
        else
          cursor->SeekToLast();  // wrap around
        if (!cursor->Valid())
          return cursor->status().ok() ? Status::NotFound("empty database") : cursor->status();
      }
      w.reads++;
      w.found++;
      w.bytes_read += cursor->key().size() + cursor->value().size();
      if (forward)
        cursor->Next();
      else
        cursor->Prev();
      return Status::OK();
    });
  } else if (name_ == "seekrandom") {
    std::unique_ptr<BenchCursor> cursor = engine_.NewCursor();
    Loop(w, Quota(ReadCount(), w.tid), 1, [&](Worker& w, uint64_t) {
      FormatKey(UniformKey(w), flags_.key_size, &w.key);
      cursor->Seek(w.key);
      w.reads++;
      if (cursor->Valid()) {
        w.found++;
        w.bytes_read += cursor->key().size() + cursor->value().size();
      }
      for (int j = 0; j < flags_.seek_nexts && cursor->Valid(); j++) {
        cursor->Next();
        if (cursor->Valid()) w.bytes_read += cursor->key().size() + cursor->value().size();
      }
      return cursor->status();
    });
  } else {
    // YCSB core workloads A-F.
    const char kind = name_.back();
    const double read_fraction = kind == 'a' ? 0.5 : kind == 'c' ? 1.0 : kind == 'f' ? 0.5 : 0.95;
    Loop(w, Quota(ReadCount(), w.tid), 1, [&](Worker& w, uint64_t) -> Status {
      const bool is_read = w.rnd.NextDouble() < read_fraction;
      if (!is_read && (kind == 'd' || kind == 'e')) {  // insert a new key
        return Put(w, state_.next_insert.fetch_add(1, std::memory_order_relaxed));
      }
      FormatKey(YcsbKey(w, kind == 'd'), flags_.key_size, &w.key);
      if (kind == 'e') {  // scan of 1..100 entries
        uint64_t length = w.rnd.Range(1, 100);
        std::unique_ptr<BenchCursor> cursor = engine_.NewCursor();
        w.reads++;
        cursor->Seek(w.key);
        if (cursor->Valid()) w.found++;
        for (uint64_t j = 0; j < length && cursor->Valid(); j++, cursor->Next()) {
          w.bytes_read += cursor->key().size() + cursor->value().size();
        }
        return cursor->status();
      }
      if (is_read) return Read(w, w.key);
      if (kind == 'f') {  // read-modify-write
        Status s = Read(w, w.key);
        if (!s.ok() && !s.IsNotFound()) return s;
      }
      std::string_view value = values_.Value(flags_.value_size, w.rnd);
      std::pair<std::string_view, std::string_view> kv{w.key, value};
      w.bytes_written += w.key.size() + value.size();
      return engine_.Write({&kv, 1});
    });
  }
}

WorkloadResult Runner::Run() {
  WorkloadResult result;
  result.workload = name_;
  if (name_ == "flush" || name_ == "compact") {
    SteadyClock::time_point start = SteadyClock::now();
    Status s = name_ == "flush" ? engine_.Flush() : engine_.CompactAll();
    SteadyClock::time_point end = SteadyClock::now();
    if (s.IsNotSupported()) {
      result.skipped = s.message();
      return result;
    }
    result.status = s;
    result.latency.Record(NanosBetween(start, end));
    result.ops = 1;
    result.seconds = static_cast<double>(NanosBetween(start, end)) / 1e9;
    return result;
  }
  if (name_.starts_with("ycsb")) {
    if (state_.next_insert.load() < flags_.num) state_.next_insert = flags_.num;
    if (flags_.distribution == "zipfian") {
      zipf_ = std::make_unique<ZipfianGenerator>(state_.next_insert.load());
    }
  }
  // The seed depends on the workload's name as well as its position, so that a workload in a
  // later invocation (--use_existing_db) does not replay the random sequence of the fill that
  // built the database.
  const uint64_t base_seed =
      Mix(Mix(flags_.seed) ^ Hash64(name_)) + static_cast<uint64_t>(index_) * 1009;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < flags_.threads; t++) {
    workers.push_back(std::make_unique<Worker>(t, Mix(base_seed + static_cast<uint64_t>(t))));
  }
  std::unique_ptr<Worker> writer;
  if (name_ == "readwhilewriting") {
    writer = std::make_unique<Worker>(flags_.threads, Mix(base_seed ^ 0x77726974ull));
  }

  SteadyClock::time_point start = SteadyClock::now();
  if (flags_.duration_seconds > 0) {
    deadline_ =
        start + std::chrono::microseconds(static_cast<int64_t>(flags_.duration_seconds * 1e6));
  }
  std::vector<std::thread> threads;
  std::thread writer_thread;
  if (writer) writer_thread = std::thread([&] { ReadWhileWritingWriter(*writer); });
  for (auto& w : workers) threads.emplace_back([this, &w] { Body(*w); });
  for (auto& t : threads) t.join();
  SteadyClock::time_point end = SteadyClock::now();
  stop_writer_ = true;
  if (writer_thread.joinable()) writer_thread.join();

  result.seconds = static_cast<double>(NanosBetween(start, end)) / 1e9;
  if (writer) workers.push_back(std::move(writer));  // its bytes count; it records no ops
  for (const auto& w : workers) {
    result.latency.Merge(w->latency);
    result.ops += w->ops;
    result.found += w->found;
    result.reads += w->reads;
    result.bytes_written += w->bytes_written;
    result.bytes_read += w->bytes_read;
    if (result.status.ok() && !w->status.ok()) result.status = w->status;
  }
  return result;
}

}  // namespace

const std::vector<std::string>& WorkloadNames() {
  static const std::vector<std::string> names = {
      "fillseq",      "fillrandom",  "overwrite",  "readrandom",      "readmissing",
      "readseq",      "readreverse", "seekrandom", "multireadrandom", "readwhilewriting",
      "deleterandom", "ycsba",       "ycsbb",      "ycsbc",           "ycsbd",
      "ycsbe",        "ycsbf",       "flush",      "compact",         "reopen"};
  return names;
}

bool IsWorkload(std::string_view name) {
  const auto& names = WorkloadNames();
  return std::find(names.begin(), names.end(), name) != names.end();
}

WorkloadResult RunWorkload(std::string_view name, int workload_index, BenchEngine& engine,
                           const WorkloadFlags& flags, RunState& state) {
  assert(IsWorkload(name));
  assert(flags.threads >= 1);
  assert(name != "reopen");
  const RequestCounts before = engine.Requests();
  const CacheCounts caches_before = engine.Caches();
  Runner runner(name, workload_index, engine, flags, state);
  WorkloadResult result = runner.Run();
  result.requests = engine.Requests() - before;
  result.caches = engine.Caches() - caches_before;
  return result;
}

WorkloadResult RunReopen(std::unique_ptr<BenchEngine>& engine, const EngineConfig& config,
                         int workload_index, const WorkloadFlags& flags) {
  WorkloadResult result;
  result.workload = "reopen";
  const std::string name = engine->name();
  result.status = engine->Close();
  if (!result.status.ok()) return result;
  engine.reset();
  const SteadyClock::time_point start = SteadyClock::now();
  Result<std::unique_ptr<BenchEngine>> reopened = OpenEngine(name, config, /*fresh=*/false);
  const SteadyClock::time_point opened = SteadyClock::now();
  if (!reopened.ok()) {
    result.status = reopened.status().WithContext("reopen");
    return result;
  }
  engine = std::move(reopened).value();
  Random rnd(Mix(Mix(flags.seed) ^ Hash64("reopen")) + static_cast<uint64_t>(workload_index));
  std::string key;
  FormatKey(rnd.Uniform(flags.num), flags.key_size, &key);
  std::string value;
  Status read = engine->Get(key, &value);
  const SteadyClock::time_point first_read = SteadyClock::now();
  if (!read.ok() && !read.IsNotFound()) result.status = read.WithContext("first read");
  result.ops = 1;
  result.reads = 1;
  result.found = read.ok() ? 1 : 0;
  result.seconds = static_cast<double>(NanosBetween(start, opened)) / 1e9;
  result.first_read_seconds = static_cast<double>(NanosBetween(start, first_read)) / 1e9;
  result.latency.Record(NanosBetween(start, opened));
  result.requests = engine->Requests();
  result.caches = engine->Caches();
  return result;
}

}  // namespace cloudkv::bench
