// SPDX-License-Identifier: Apache-2.0
// Deterministic protocol simulation (docs/design.md §3–5). One thread, one seed, an injected clock.
// It drives the real commit, fencing and replay code (ManifestStore, PlaceWalObject, ReplayWal)
// for a writer, newly opened writers that fence it, and a compactor stand-in, against a store
// whose requests fail, lose their responses, or land late, out of order or never.
// After every step it checks:
//   1. no acknowledged write is lost (a fresh reader recovers each key at or after it);
//   2. no write is acknowledged by a writer after a newer writer's fence below it;
//   3. every object a manifest references exists;
//   4. epochs never repeat;
//   5. no write is visible that a newer writer's recovery left out (a fenced writer's write that
//      was never acknowledged and was not in the WAL the newer writer replayed can never
//      appear later, e.g. through a recovery point that starts on its late upload).
// Right after a takeover the new writer may flush and the compactor run at once, before the
// new writer's first upload (the recovery point then lands on the id after its fence, where a
// fenced writer's late upload may sit).
// CLOUDKV_SIM_SEEDS sets how many seeds run (default 1000, 150 steps each); CLOUDKV_SEED runs
// one. CLOUDKV_SIM_NO_REPLAY_EPOCH=1 checks the checker: flushes then commit no replay_epoch, as
// before issue #16, and check 5 must fail within the default seeds. The simulated writer's
// acknowledgement bookkeeping mirrors WalWriter's (settled ids and release in sealing order); the
// store calls, the manifest commit, placement and replay are the engine's own code.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

#include "cloudkv/clock.h"
#include "db/manifest.h"
#include "db/time_travel.h"
#include "db/wal_protocol.h"
#include "store/stores.h"
#include "util/coding.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

// A store whose every request is decided by the seed: delivered, failed before taking effect,
// applied with its response lost, or deferred (the caller gives up; it lands later or never).
class SimStore final : public ObjectStore {
 public:
  SimStore(std::shared_ptr<ObjectStore> base, Random* rnd) : base_(std::move(base)), rnd_(rnd) {}

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override {
    if (rnd_->OneIn(20)) return Lost("get", key);
    return base_->Get(key, range);
  }
  Result<ObjectInfo> Head(std::string_view key) override {
    if (rnd_->OneIn(20)) return Lost("head", key);
    return base_->Head(key);
  }
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override {
    uint64_t r = rnd_->Uniform(100);
    if (r < 5) return Lost("put (before)", key);
    if (r < 10) {
      auto applied = base_->Put(key, data, options);
      (void)applied;
      return Lost("put (response)", key);
    }
    if (r < 15) {
      pending_.push_back({std::string(key), std::string(data), options});
      return Lost("put (deferred)", key);
    }
    return base_->Put(key, data, options);
  }
  Status Delete(std::string_view key) override { return base_->Delete(key); }
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override {
    if (rnd_->OneIn(20)) return Lost("list", prefix);
    return base_->List(prefix, start_after, limit);
  }
  std::string Describe() const override { return "sim://"; }

  // Lands or drops one deferred request, chosen at random.
  void SettleOne() {
    if (pending_.empty()) return;
    size_t i = rnd_->Uniform(pending_.size());
    Pending p = std::move(pending_[i]);
    pending_.erase(pending_.begin() + i);
    if (rnd_->OneIn(3)) return;                          // never lands
    auto landed = base_->Put(p.key, p.data, p.options);  // its condition is checked now
    (void)landed;
  }
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    std::string key;
    std::string data;
    PutOptions options;
  };
  static Status Lost(std::string_view op, std::string_view key) {
    return Status::IOError("simulated " + std::string(op) + " failure on " + std::string(key),
                           true);
  }

  std::shared_ptr<ObjectStore> base_;
  Random* rnd_;
  std::vector<Pending> pending_;
};

using Rows = std::map<std::string, std::pair<uint64_t, std::string>>;

// The content of a stand-in SST: (key, seq, value) triples.
std::string EncodeSimSst(const Rows& rows) {
  std::string out;
  for (const auto& [k, v] : rows) {
    PutLengthPrefixed(&out, k);
    PutVarint64(&out, v.first);
    PutLengthPrefixed(&out, v.second);
  }
  return out;
}

void MergeSimSst(std::string_view in, Rows* rows) {
  std::string_view k, v;
  uint64_t seq;
  while (!in.empty()) {
    ASSERT_TRUE(GetLengthPrefixed(&in, &k) && GetVarint64(&in, &seq) && GetLengthPrefixed(&in, &v));
    auto& slot = (*rows)[std::string(k)];
    if (seq >= slot.first) slot = {seq, std::string(v)};
  }
}

// Applies the puts of a WAL object's batches to `rows` (newest sequence wins).
Status ApplyWalObject(const WalObject& obj, Rows* rows) {
  struct Apply : WriteBatch::Handler {
    Rows* rows;
    uint64_t seq;
    Status Put(std::string_view k, std::string_view v) override {
      auto& slot = (*rows)[std::string(k)];
      if (seq >= slot.first) slot = {seq, std::string(v)};
      seq++;
      return Status::OK();
    }
    Status Delete(std::string_view) override { return Status::OK(); }
    Status DeleteRange(std::string_view, std::string_view) override { return Status::OK(); }
  };
  for (const auto& b : obj.batches) {
    WriteBatch batch;
    RETURN_IF_ERROR(batch.SetData(b.data, b.count));
    Apply apply;
    apply.rows = rows;
    apply.seq = b.first_sequence;
    RETURN_IF_ERROR(batch.Iterate(&apply));
  }
  return Status::OK();
}

struct Ack {
  std::string key;
  std::string value;
  uint64_t seq;
};

class Simulation {
 public:
  explicit Simulation(uint64_t seed)
      : rnd_(seed),
        base_(NewPrivateMemoryStore("sim")),
        store_(std::make_shared<SimStore>(base_, &rnd_)),
        clock_(std::make_shared<ManualClock>()),
        checker_(base_, clock_) {}

  void Run(int steps) {
    for (step_ = 0; step_ < steps; step_++) {
      Step();
      if (::testing::Test::HasFatalFailure()) return;
      CheckInvariants();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

 private:
  struct Segment {
    uint64_t id;
    uint64_t nonce;
    std::vector<Ack> writes;
    uint64_t first_seq;
    bool stored = false;
  };
  struct Writer {
    uint64_t epoch = 0;
    bool fenced = false;
    uint64_t first_id = 0;  // the id after this writer's fence
    uint64_t next_id = 0;
    uint64_t watermark = 0;
    std::set<uint64_t> settled;
    uint64_t seq = 0;
    std::vector<Ack> buffer;
    std::deque<Segment> segments;  // sealing order, not yet released
    Rows memtable;
    Manifest manifest;
    std::unique_ptr<ManifestStore> manifests;
  };

  void Step() {
    uint64_t r = rnd_.Uniform(100);
    if (writers_.empty() || r < 3) return OpenWriter();
    Writer& w = *writers_[rnd_.Uniform(writers_.size())];
    if (r < 35) return ClientWrite(*writers_.back());
    if (r < 50) return Seal(w);
    if (r < 75) return PlaceOne(w);
    if (r < 82) return Flush(*writers_.back());
    if (r < 87) return Compact();
    if (r < 97) return store_->SettleOne();
    clock_->Advance(rnd_.Uniform(1'000'000));
  }

  void OpenWriter() {
    auto w = std::make_unique<Writer>();
    w->manifests = std::make_unique<ManifestStore>(store_, clock_);
    auto latest = w->manifests->LoadLatest();
    if (!latest.ok() && latest.status().IsNotFound()) {
      Manifest init;
      init.set_replay_point(1);
      // A window over the whole simulation, for the past reads of check 6 (no GC runs here).
      init.mutable_settings()->set_history_retention_micros(1ull << 50);
      auto created = w->manifests->Create(init);
      if (!created.ok() && !created.status().IsPreconditionFailed()) return;
      latest = w->manifests->LoadLatest();
    }
    if (!latest.ok()) return;  // the open fails; try again later
    auto bumped = w->manifests->Commit(
        *latest,
        [](const Manifest& base, Manifest* next) {
          next->set_writer_epoch(base.writer_epoch() + 1);
          return Status::OK();
        },
        "open");
    if (!bumped.ok()) return;
    w->epoch = bumped->writer_epoch();
    ASSERT_TRUE(epochs_.insert(w->epoch).second) << "epoch " << w->epoch << " repeated";
    w->manifest = *bumped;
    // State: SSTs, then the WAL from the replay point; fence the first hole.
    for (const auto& sst : bumped->l0()) {
      auto got = net()->Get(sst.object_key());
      if (!got.ok()) return;
      MergeSimSst(got->data, &w->memtable);
    }
    WalReplayOptions ro;
    ro.fence = true;
    ro.epoch = w->epoch;
    ro.fence_nonce = rnd_.Next64();
    ro.min_epoch = bumped->replay_epoch();
    uint64_t max_seq = bumped->last_sequence();
    std::set<std::string> replayed;
    auto first_free =
        ReplayWal(store_.get(), bumped->replay_point(), ro, [&](const WalObject& obj) {
          for (const auto& b : obj.batches)
            max_seq = std::max(max_seq, b.first_sequence + b.count - 1);
          for (const auto& batch : obj.batches) {  // every value, also ones a later one hides
            WalObject one = obj;
            one.batches = {batch};
            Rows rows;
            RETURN_IF_ERROR(ApplyWalObject(one, &rows));
            for (const auto& row : rows) replayed.insert(row.second.second);
          }
          return ApplyWalObject(obj, &w->memtable);
        });
    if (!first_free.ok()) return;  // e.g. fenced by a newer opener, or the store failed
    w->first_id = w->next_id = w->watermark = *first_free;
    w->seq = max_seq;
    // 5: every write of an older writer that neither this recovery nor an earlier one took in
    // was not acknowledged (1 checks that) and is gone for good.
    included_.insert(replayed.begin(), replayed.end());
    for (const auto& older : writers_) {
      auto left_out = [&](const Ack& a) {
        if (!included_.count(a.value)) dead_.emplace(a.value, w->epoch);
      };
      for (const auto& a : older->buffer) left_out(a);
      for (const auto& seg : older->segments) {
        for (const auto& a : seg.writes) left_out(a);
      }
    }
    writers_.push_back(std::move(w));
    // A takeover is often followed at once by a flush (the replayed memtable's age, Flush,
    // CompactAll) and by compaction, before the new writer has uploaded anything.
    if (rnd_.OneIn(2)) Flush(*writers_.back());
    if (rnd_.OneIn(4)) Compact();
  }

  void ClientWrite(Writer& w) {
    if (w.fenced) return;
    std::string key = "k" + std::to_string(rnd_.Uniform(20));
    std::string value = "v" + std::to_string(step_) + "-e" + std::to_string(w.epoch);
    uint64_t seq = ++w.seq;
    w.buffer.push_back(Ack{key, value, seq});
    w.memtable[key] = {seq, value};
  }

  void Seal(Writer& w) {
    if (w.buffer.empty() || w.fenced) return;
    Segment seg;
    seg.id = w.next_id++;
    seg.nonce = rnd_.Next64();
    seg.writes = std::move(w.buffer);
    seg.first_seq = seg.writes.front().seq;
    w.buffer.clear();
    w.segments.push_back(std::move(seg));
  }

  std::string Encode(const Writer& w, const Segment& seg) {
    WalObjectBuilder b(seg.id, w.epoch, seg.nonce);
    for (const auto& a : seg.writes) {
      WriteBatch batch;
      batch.Put(a.key, a.value);
      b.AddBatch(a.seq, clock_->NowMicros(), batch);
    }
    return b.Finish();
  }

  void PlaceOne(Writer& w) {
    std::vector<Segment*> open;
    for (auto& s : w.segments) {
      if (!s.stored) open.push_back(&s);
    }
    if (open.empty() || w.fenced) return;
    Segment& seg = *open[rnd_.Uniform(open.size())];
    Status error;
    switch (PlaceWalObject(store_.get(), seg.id, w.epoch, seg.nonce, Encode(w, seg), &error)) {
      case WalPlacement::kStored:
        seg.stored = true;
        Settle(w, seg.id);
        break;
      case WalPlacement::kOccupiedByOlder:
        Settle(w, seg.id);
        seg.id = w.next_id++;
        break;
      case WalPlacement::kFenced:
        w.fenced = true;
        break;
      case WalPlacement::kRetry:
        break;
      case WalPlacement::kFailed:
        FAIL() << "placement failed: " << error.ToString();
    }
    Release(w);
  }

  void Settle(Writer& w, uint64_t id) {
    w.settled.insert(id);
    while (w.settled.count(w.watermark)) w.settled.erase(w.watermark++);
  }

  // Acknowledge segments in sealing order once stored and every id below them is settled.
  void Release(Writer& w) {
    while (!w.fenced && !w.segments.empty() && w.segments.front().stored &&
           w.segments.front().id < w.watermark) {
      const Segment& seg = w.segments.front();
      // Invariant 2: no newer writer's fence sits at or below an id we acknowledge.
      for (uint64_t id = w.first_id; id <= seg.id; id++) {
        auto got = base_->Get(WalObjectKey(id));
        if (!got.ok()) continue;
        auto obj = DecodeWalObject(WalObjectKey(id), got->data);
        ASSERT_TRUE(obj.ok());
        ASSERT_FALSE(obj->fence && obj->epoch > w.epoch)
            << "epoch " << w.epoch << " acknowledges WAL id " << seg.id
            << " above the fence of epoch " << obj->epoch << " at id " << id;
      }
      for (const auto& a : seg.writes) {
        auto& last = acked_[a.key];
        if (a.seq >= last.seq) last = a;
      }
      w.segments.pop_front();
    }
  }

  void Flush(Writer& w) {
    if (w.fenced || !w.buffer.empty() || !w.segments.empty() || w.memtable.empty()) return;
    std::string key = "sst/" + std::to_string(rnd_.Next64()) + ".sst";
    std::string bytes = EncodeSimSst(w.memtable);
    if (!net()->Put(key, bytes).ok()) return;  // try again later (nothing committed)
    uint64_t epoch = w.epoch, boundary = w.next_id, seq = w.seq;
    const bool min_epoch_fix = !std::getenv("CLOUDKV_SIM_NO_REPLAY_EPOCH");
    auto committed = w.manifests->Commit(
        w.manifest,
        [&](const Manifest& latest, Manifest* next) {
          if (latest.writer_epoch() != epoch) return Status::Fenced("newer writer");
          auto* sst = next->add_l0();
          sst->set_object_key(key);
          sst->set_largest_seq(seq);
          if (boundary > latest.replay_point()) {
            next->set_replay_point(boundary);
            if (min_epoch_fix) next->set_replay_epoch(epoch);  // as DBImpl::FlushMemTable
          }
          next->set_last_sequence(std::max(latest.last_sequence(), seq));
          return Status::OK();
        },
        "writer");
    if (committed.ok()) {
      w.manifest = *committed;
    } else if (committed.status().IsFenced()) {
      w.fenced = true;
    }
  }

  // The compactor stand-in merges the two oldest L0 SSTs; it aborts if an input is gone.
  void Compact() {
    ManifestStore ms(store_, clock_);
    auto latest = ms.LoadLatest();
    if (!latest.ok() || latest->l0_size() < 2) return;
    int n = latest->l0_size();
    std::string a = latest->l0(n - 1).object_key(), b = latest->l0(n - 2).object_key();
    Rows rows;
    for (const auto& k : {a, b}) {
      auto got = net()->Get(k);
      if (!got.ok()) return;
      MergeSimSst(got->data, &rows);
    }
    std::string out = "sst/c" + std::to_string(rnd_.Next64()) + ".sst";
    if (!net()->Put(out, EncodeSimSst(rows)).ok()) return;
    auto committed = ms.Commit(
        *latest,
        [&](const Manifest& cur, Manifest* next) {
          next->clear_l0();
          bool found_a = false, found_b = false;
          for (const auto& s : cur.l0()) {
            if (s.object_key() == a) {
              found_a = true;
            } else if (s.object_key() == b) {
              found_b = true;
            } else {
              *next->add_l0() = s;
            }
          }
          if (!found_a || !found_b) return Status::PreconditionFailed("compaction input gone");
          next->add_l0()->set_object_key(out);  // the oldest position
          return Status::OK();
        },
        "compactor");
    (void)committed;
  }

  void CheckInvariants() {
    // 3: every object any manifest references exists.
    auto latest = checker_.LoadLatest();
    if (!latest.ok()) {
      ASSERT_TRUE(latest.status().IsNotFound()) << latest.status().ToString();
      ASSERT_TRUE(acked_.empty());
      return;
    }
    Rows state;
    for (const auto& sst : latest->l0()) {
      auto cached = sst_cache_.find(sst.object_key());
      if (cached == sst_cache_.end()) {
        auto got = base_->Get(sst.object_key());
        ASSERT_TRUE(got.ok()) << "manifest " << latest->version() << " references missing "
                              << sst.object_key();
        cached = sst_cache_.emplace(sst.object_key(), got->data).first;  // SSTs are immutable
      }
      MergeSimSst(cached->second, &state);
    }
    // 1: a fresh reader (no fence) recovers every acknowledged write or a later one.
    WalReplayOptions ro;
    ro.min_epoch = latest->replay_epoch();
    auto replayed = ReplayWal(base_.get(), latest->replay_point(), ro,
                              [&](const WalObject& obj) { return ApplyWalObject(obj, &state); });
    ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
    for (const auto& [key, ack] : acked_) {
      auto it = state.find(key);
      ASSERT_TRUE(it != state.end()) << "step " << step_ << ": acknowledged " << key << "="
                                     << ack.value << " (seq " << ack.seq << ") lost";
      ASSERT_GE(it->second.first, ack.seq) << "step " << step_ << ": " << key << " went back from "
                                           << ack.value << " to " << it->second.second;
      if (it->second.first == ack.seq) {
        ASSERT_EQ(it->second.second, ack.value);
      }
    }
    // 5: nothing a recovery left out is visible.
    for (const auto& [key, row] : state) {
      auto dead = dead_.find(row.second);
      ASSERT_TRUE(dead == dead_.end())
          << "step " << step_ << ": " << key << "=" << row.second << " (seq " << row.first
          << ") is visible, but the recovery of epoch " << dead->second
          << " left it out (never acknowledged); manifest " << latest->version() << " replay point "
          << latest->replay_point() << " epoch " << latest->replay_epoch();
    }
    CheckPastReads(*latest, state);
  }

  // 6: a past read (db/time_travel.h) applies only writes recovery keeps: at a random time no
  // value a recovery left out is visible, and at the present it equals what recovery finds
  // (whichever manifest it starts from).
  void CheckPastReads(const Manifest& latest, const Rows& recovered) {
    ManifestStore reader(base_, clock_);
    auto first = reader.Load(1);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    const uint64_t now = std::max(clock_->NowMicros(), latest.commit_time_micros());
    // Its own generator: the simulation's steps stay those of the seed.
    Random pick(step_ * 1'000'003ull + latest.version());
    const uint64_t created = first->commit_time_micros();
    for (uint64_t t : {created + pick.Uniform(now - created + 1), now}) {
      Rows past;
      auto loaded =
          LoadPastState(base_.get(), &reader, now, ReadPoint::AtTime(t), [&](const WalBatch& b) {
            WalObject one;
            one.batches.push_back(b);
            return ApplyWalObject(one, &past);
          });
      ASSERT_TRUE(loaded.ok()) << "step " << step_ << " at " << t << ": "
                               << loaded.status().ToString();
      for (const auto& sst : loaded->base.l0()) {
        auto got = base_->Get(sst.object_key());
        ASSERT_TRUE(got.ok()) << sst.object_key();
        MergeSimSst(got->data, &past);
      }
      for (const auto& [key, row] : past) {
        auto dead = dead_.find(row.second);
        ASSERT_TRUE(dead == dead_.end())
            << "step " << step_ << ": a past read at " << t << " (base manifest "
            << loaded->base.version() << ") sees " << key << "=" << row.second
            << ", which the recovery of epoch " << dead->second << " left out";
      }
      if (t == now) {
        ASSERT_EQ(past, recovered)
            << "step " << step_ << ": the past read at the present "
            << "(base manifest " << loaded->base.version() << ") differs from recovery";
      }
    }
  }

  ObjectStore* net() { return store_.get(); }

  Random rnd_;
  std::shared_ptr<ObjectStore> base_;
  std::shared_ptr<SimStore> store_;
  std::shared_ptr<ManualClock> clock_;
  ManifestStore checker_;  // reads the store directly, without faults
  std::map<std::string, std::string> sst_cache_;
  std::vector<std::unique_ptr<Writer>> writers_;
  std::map<std::string, Ack> acked_;
  std::set<std::string> included_;        // values some recovery replayed
  std::map<std::string, uint64_t> dead_;  // value -> epoch of the recovery that left it out
  std::set<uint64_t> epochs_;
  int step_ = 0;
};

TEST(ProtocolSimulation, ManySeeds) {
  const char* one = std::getenv("CLOUDKV_SEED");
  const char* n_env = std::getenv("CLOUDKV_SIM_SEEDS");
  const int seeds = one ? 1 : (n_env ? std::atoi(n_env) : 1000);
  const uint64_t base = one ? std::strtoull(one, nullptr, 0) : RandomSeed() % 1000000007ull;
  std::fprintf(stderr, "ProtocolSimulation: seeds %llu..%llu\n",
               static_cast<unsigned long long>(base),
               static_cast<unsigned long long>(base + seeds - 1));
  for (int i = 0; i < seeds; i++) {
    Simulation sim(base + i);
    sim.Run(150);
    if (::testing::Test::HasFailure()) {
      FAIL() << "failing seed: CLOUDKV_SEED=" << base + i;
    }
  }
}

}  // namespace
}  // namespace cloudkv
