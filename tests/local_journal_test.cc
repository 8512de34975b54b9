// The put journal of the file:// store (src/store/local_journal.h): segment recycling and the
// record formats its replay accepts. A dead process is stood for by a copy of the journal's
// files: a copy holds no flock, so ReplayDead treats it as the journal of an ended process.
#include "store/local_journal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/posix_file.h"
#include "support/temp_dir.h"
#include "util/coding.h"
#include "util/hash.h"

namespace cloudkv {
namespace {

namespace fs = std::filesystem;

struct SegmentFile {
  std::string name;
  ino_t inode;
  uint64_t size;
};

std::vector<SegmentFile> ListSegments(const std::string& dir) {
  std::vector<SegmentFile> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    struct stat st;
    if (::stat(entry.path().c_str(), &st) != 0) {
      // Renamed or deleted since the listing, by a checkpoint thread still at work: a caller
      // that polls lists again.
      EXPECT_EQ(errno, ENOENT) << entry.path();
      continue;
    }
    out.push_back({entry.path().filename().string(), st.st_ino, static_cast<uint64_t>(st.st_size)});
  }
  return out;
}

// A journal in `root`/journal, with the descriptors it needs.
class JournalFixture {
 public:
  explicit JournalFixture(const std::string& root)
      : journal_dir_(root + "/journal"), root_fd_(::open(root.c_str(), O_RDONLY | O_DIRECTORY)) {
    fs::create_directory(journal_dir_);
    dir_fd_ = UniqueFd(::open(journal_dir_.c_str(), O_RDONLY | O_DIRECTORY));
    EXPECT_TRUE(root_fd_.valid() && dir_fd_.valid());
  }
  std::unique_ptr<PutJournal> Open(PutJournal::Options options) {
    return std::make_unique<PutJournal>(dir_fd_.get(), root_fd_.get(), journal_dir_, options);
  }
  const std::string& dir() const { return journal_dir_; }
  int root_fd() const { return root_fd_.get(); }

 private:
  std::string journal_dir_;
  UniqueFd root_fd_;
  UniqueFd dir_fd_;
};

void MustAppend(PutJournal* journal, const std::string& key, const std::string& data) {
  Result<PutJournal::Ticket> ticket = journal->Append(key, data);
  ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
  journal->Finish(*ticket, /*file_created=*/true);
}

// Replays a copy of `journal_dir`'s files, as the next process would after this one died.
std::vector<std::pair<std::string, std::string>> ReplayCopy(const std::string& journal_dir,
                                                            const std::string& copy_dir) {
  fs::remove_all(copy_dir);
  fs::create_directory(copy_dir);
  for (const auto& entry : fs::directory_iterator(journal_dir)) {
    // A running checkpoint thread may rename or delete a segment between the listing and the
    // copy. It only does so to segments it has retired, whose records the replay must not need.
    std::error_code ec;
    fs::copy_file(entry.path(), copy_dir + "/" + entry.path().filename().string(), ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      ADD_FAILURE() << "copy " << entry.path() << ": " << ec.message();
    }
  }
  UniqueFd dir(::open(copy_dir.c_str(), O_RDONLY | O_DIRECTORY));
  std::vector<std::pair<std::string, std::string>> replayed;
  Status s = PutJournal::ReplayDead(dir.get(), dir.get(), copy_dir,
                                    [&](std::string_view key, std::string_view data) {
                                      replayed.emplace_back(key, data);
                                      return Status::OK();
                                    });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(fs::is_empty(copy_dir)) << "replayed segments are deleted";
  return replayed;
}

PutJournal::Options NoBackgroundCheckpoints() {
  PutJournal::Options options;
  options.checkpoint_interval = std::chrono::milliseconds(600'000);
  return options;
}

TEST(PutJournal, ACheckpointRenamesTheSegmentForReuseAndItsOldRecordsAreNotReplayed) {
  TempDir tmp("journal-recycle");
  JournalFixture fx(tmp.path());
  auto journal = fx.Open(NoBackgroundCheckpoints());
  for (int i = 0; i < 5; i++) MustAppend(journal.get(), "old/" + std::to_string(i), "v1");
  std::vector<SegmentFile> before = ListSegments(fx.dir());
  ASSERT_EQ(before.size(), 1u);

  ASSERT_TRUE(journal->Checkpoint().ok());
  std::vector<SegmentFile> spare = ListSegments(fx.dir());
  ASSERT_EQ(spare.size(), 1u);
  EXPECT_NE(spare[0].name, before[0].name);
  EXPECT_EQ(spare[0].inode, before[0].inode) << "the file is kept, under a new name";
  EXPECT_EQ(spare[0].size, before[0].size);
  // Renamed, the file's old records are invalid: a crash now replays nothing.
  EXPECT_TRUE(ReplayCopy(fx.dir(), tmp.path() + "/copy").empty());

  // The next segment is that file: two records overwrite the start, three old ones follow.
  MustAppend(journal.get(), "new/0", "v2");
  MustAppend(journal.get(), "new/1", "v2");
  std::vector<SegmentFile> reused = ListSegments(fx.dir());
  ASSERT_EQ(reused.size(), 1u);
  EXPECT_EQ(reused[0].inode, before[0].inode);
  EXPECT_EQ(reused[0].size, before[0].size) << "appends in place do not grow the file";
  EXPECT_EQ(ReplayCopy(fx.dir(), tmp.path() + "/copy"),
            (std::vector<std::pair<std::string, std::string>>{{"new/0", "v2"}, {"new/1", "v2"}}));

  // A clean close leaves no segment, spare or not.
  ASSERT_TRUE(journal->Checkpoint().ok());
  EXPECT_EQ(ListSegments(fx.dir()).size(), 1u);
  journal.reset();
  EXPECT_TRUE(fs::is_empty(fx.dir()));
}

TEST(PutJournal, WithoutRecyclingACheckpointDeletesItsSegments) {
  TempDir tmp("journal-norecycle");
  JournalFixture fx(tmp.path());
  PutJournal::Options options = NoBackgroundCheckpoints();
  options.recycle_segments = false;
  auto journal = fx.Open(options);
  MustAppend(journal.get(), "k", "v");
  ASSERT_EQ(ListSegments(fx.dir()).size(), 1u);
  ASSERT_TRUE(journal->Checkpoint().ok());
  EXPECT_TRUE(fs::is_empty(fx.dir()));
}

// The checkpoint thread extends the spare with zeros to 1.25x what the last segment used,
// rounded up to a MiB, so the next segment's appends do not grow the file. (A synchronous
// Checkpoint() call does not: it may run in a put's path.)
TEST(PutJournal, TheCheckpointThreadExtendsTheSpareWithZeros) {
  TempDir tmp("journal-prealloc");
  JournalFixture fx(tmp.path());
  PutJournal::Options options = NoBackgroundCheckpoints();
  options.segment_bytes = 1'500'000;  // reached by the 15th record: one checkpoint, then
  auto journal = fx.Open(options);
  const std::string data(100'000, 'd');
  for (int i = 0; i < 15; i++) MustAppend(journal.get(), "k" + std::to_string(i), data);
  // 15 records of 100,022 bytes or so: 1,500,335 bytes; 1.25x that rounds up to 2 MiB.
  const uint64_t target = uint64_t{2} << 20;
  std::vector<SegmentFile> files;
  for (int i = 0; i < 1000; i++) {
    files = ListSegments(fx.dir());
    if (files.size() == 1 && files[0].size == target) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(files.size(), 1u);
  ASSERT_EQ(files[0].size, target);
  std::ifstream in(fx.dir() + "/" + files[0].name, std::ios::binary);
  in.seekg(1'600'000);
  std::string tail(target - 1'600'000, 'x');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  EXPECT_EQ(tail, std::string(tail.size(), '\0'));
  EXPECT_TRUE(ReplayCopy(fx.dir(), tmp.path() + "/copy").empty());

  // The next segment takes it.
  MustAppend(journal.get(), "after", "v");
  files = ListSegments(fx.dir());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].size, target);
  EXPECT_EQ(ReplayCopy(fx.dir(), tmp.path() + "/copy"),
            (std::vector<std::pair<std::string, std::string>>{{"after", "v"}}));
}

// Under a steady load the segment that follows a seal is created during the checkpoint's
// syncfs, before the sealed segment is retired. With two spares kept, it is a recycled file all
// the same: after the first two, no segment is a new (growing) file.
TEST(PutJournal, UnderSteadyAppendsEverySegmentAfterTheFirstTwoIsRecycled) {
  TempDir tmp("journal-steady");
  JournalFixture fx(tmp.path());
  PutJournal::Options options;
  options.checkpoint_interval = std::chrono::milliseconds(3);
  auto journal = fx.Open(options);
  const std::string data(1000, 'v');
  // Segment names end in a counter that counts new and recycled segments alike.
  uint64_t names = 0;
  size_t most_files = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; names < 30; i++) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "only " << names << " segment names";
    MustAppend(journal.get(), "k" + std::to_string(i), data);
    if (i % 20 != 0) continue;
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(fx.dir())) {
      const std::string name = entry.path().filename().string();
      names = std::max<uint64_t>(names, std::stoull(name.substr(name.rfind('.') + 1)));
      files++;
    }
    most_files = std::max(most_files, files);
  }
  EXPECT_LE(journal->segments_created(), 2u) << "of " << names << " segments";
  // The active segment, one sealed and waiting for its syncfs, and two spares.
  EXPECT_LE(most_files, 4u);
  journal.reset();
  EXPECT_TRUE(fs::is_empty(fx.dir()));
}

// Appends from several threads while the checkpoint thread retires, renames and extends
// segments every few milliseconds (run it under TSan too). Whatever a replay finds must be
// records that were appended, whole, and each at most once.
TEST(PutJournal, ConcurrentAppendsWhileSegmentsAreRecycled) {
  TempDir tmp("journal-concurrent");
  JournalFixture fx(tmp.path());
  PutJournal::Options options;
  options.checkpoint_interval = std::chrono::milliseconds(2);
  options.segment_bytes = 64 << 10;
  auto journal = fx.Open(options);
  constexpr int kThreads = 4;
  constexpr int kAppends = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; i++) {
        std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        MustAppend(journal.get(), key,
                   std::string(100 + (i % 7) * 500, static_cast<char>('a' + t)));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::pair<std::string, std::string>> replayed =
      ReplayCopy(fx.dir(), tmp.path() + "/copy");
  std::set<std::string> seen;
  for (const auto& [key, data] : replayed) {
    ASSERT_EQ(key[0], 't');
    const int t = key[1] - '0';
    const int i = std::stoi(key.substr(3));
    EXPECT_EQ(data, std::string(100 + (i % 7) * 500, static_cast<char>('a' + t))) << key;
    EXPECT_TRUE(seen.insert(key).second) << key << " replayed twice";
  }
  journal.reset();
  EXPECT_TRUE(fs::is_empty(fx.dir()));
}

// Records are built here from the format in local_journal.h, not by the journal.
std::string Record(uint32_t magic, const std::string& key, const std::string& data,
                   const std::string* seed_name) {
  char header[20];
  EncodeFixed32(header, magic);
  EncodeFixed32(header + 4, static_cast<uint32_t>(key.size()));
  EncodeFixed32(header + 8, static_cast<uint32_t>(data.size()));
  uint64_t h = Checksum64(std::string_view(header, 12));
  h = Checksum64(data, Checksum64(key, h));
  if (seed_name != nullptr) {
    char buf[8];
    EncodeFixed64(buf, h);
    h = Checksum64(std::string_view(buf, 8), Checksum64(*seed_name));
  }
  EncodeFixed64(header + 12, h);
  return std::string(header, 20) + key + data;
}

TEST(PutJournal, ReplayAcceptsBothFormatsAndStopsAtARecordOfAnotherName) {
  TempDir tmp("journal-formats");
  const std::string dir = tmp.path() + "/dead";
  fs::create_directory(dir);
  const std::string name = "1.abc.1";
  const std::string other = "1.abc.2";
  {
    // A segment of the first format (no seed), as an older cloudkv left it.
    std::ofstream out(dir + "/1.abc.0", std::ios::binary);
    out << Record(0x4a4b4331, "v1/a", "x", nullptr) << Record(0x4a4b4331, "v1/b", "y", nullptr);
  }
  {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out << Record(0x4a4b4332, "v2/a", "x", &name) << Record(0x4a4b4332, "v2/b", "y", &name)
        << Record(0x4a4b4332, "stale", "z", &other) << Record(0x4a4b4332, "v2/c", "w", &name);
  }
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  std::vector<std::string> replayed;
  Status s =
      PutJournal::ReplayDead(fd.get(), fd.get(), dir, [&](std::string_view key, std::string_view) {
        replayed.emplace_back(key);
        return Status::OK();
      });
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::sort(replayed.begin(), replayed.end());  // segments are read in directory order
  EXPECT_EQ(replayed, (std::vector<std::string>{"v1/a", "v1/b", "v2/a", "v2/b"}));
  EXPECT_TRUE(fs::is_empty(dir));
}

}  // namespace
}  // namespace cloudkv
