// SPDX-License-Identifier: Apache-2.0
// Connection: one client of `cloudkv serve`. Reads RESP commands (pipelined), runs them and
// writes the replies strictly in request order, although a write's reply is only ready once
// the write is durable (DurabilityTracker callbacks arrive on engine threads and are posted
// back to the connection's io_context).
//
// Thread-safety: every member function runs on the connection's io_context thread; the only
// entry from other threads is through asio::post.
#ifndef CLOUDKV_SERVER_CONNECTION_H_
#define CLOUDKV_SERVER_CONNECTION_H_

#include <array>
#include <asio.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/commands.h"
#include "server/resp.h"

namespace cloudkv::server {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerState* state, asio::ip::tcp::socket socket, const std::atomic<bool>* stopping);
  ~Connection();

  // Starts reading. `reject` sends the error and closes (max clients).
  void Start(std::string_view reject = {});
  // Stops taking commands; closes once every queued reply is written (graceful shutdown).
  void CloseWhenDone();
  uint64_t id() const { return session_.id; }

 private:
  // A reply position in the output order. Replies that are ready when every earlier one is
  // go straight to out_; a slot holds the place of one that waits for durability (a write
  // group's, which covers all its commands, or a gated read's) and of ready ones behind it.
  struct Slot {
    bool ready = false;
    uint32_t commands = 0;  // commands whose replies this slot carries
    std::string data;
  };
  // Per command of a committed batch: for metrics and for failing just the commands that
  // wrote when the batch fails.
  struct CommandRecord {
    size_t metric;
    uint64_t start_us;
    size_t reply_end;  // end of this command's reply in the batch's reply bytes
    bool error;
    bool wrote;
  };
  class Completion;
  // Consecutive write commands of one read's worth of input share one Txn, so one WriteBatch,
  // one DB::WriteAsync and one durability callback (docs/server.md). The group holds the key
  // locks of all its commands until the batch is applied; a command whose keys another
  // thread holds, or any other command, closes the group first.
  struct WriteGroup {
    WriteGroup(DB* db, KeyLocks* locks)
        : txn(std::make_unique<Txn>(db, /*read_unflushed=*/true, 0)), locks(locks) {}
    bool open = false;
    // Reused group after group, so its batch keeps its buffer (unless that grew large).
    std::unique_ptr<Txn> txn;
    KeyLocks::Set locks;
    uint64_t slot = 0;
    std::string replies;
    std::vector<CommandRecord> records;
  };

  void DoRead();
  void ProcessInput();
  // The one dispatch path: looks the command up, checks it, queues it inside MULTI or runs its
  // handler in the way its flags say. `args` stays the caller's (the parser reuses its strings).
  void Execute(std::vector<std::string>& args);
  // A kCmdSession command: no Txn, the reply is ready at once.
  void RunSession(const CommandSpec& spec, const std::vector<std::string>& args);
  // A kCmdTransaction command (EXEC): under the locks of the queued commands' keys and the
  // watched keys, in one Txn committed as one batch.
  void RunTransaction(const CommandSpec& spec, const std::vector<std::string>& args);
  void RunRead(const CommandSpec& spec, const std::vector<std::string>& args);
  void RunWrite(const CommandSpec& spec, const std::vector<std::string>& args);
  // Whether a write command may join a group: its records are bounded by its arguments, and
  // those are far enough below the engine's limits that the group's batch cannot be refused
  // for one command's sake.
  bool Groupable(const CommandSpec& spec, const std::vector<std::string>& args) const;
  // Commits the open group (applies it to memory, touches WATCHes, releases its locks).
  void FlushGroup();
  // Commits a transaction's writes (or, if it wrote nothing, waits until the state it read is
  // durable) and fills `slot` with `replies` then. REQUIRES: the keys' locks are held.
  void Commit(Txn* txn, uint64_t slot, std::string replies, std::vector<CommandRecord> records);
  void Deliver(Completion* completion);
  uint64_t NewSlot(uint32_t commands);
  // Where a reply that is ready at once goes: out_ when no earlier reply is pending.
  std::string* ImmediateSink();
  void Reply(std::string_view data);  // a reply ready at once
  // An error reply ready at once; counted in INFO total_error_replies.
  void ReplyError(std::string_view message);
  void Fill(uint64_t slot, std::string data);
  // Sends out_ (now, or at the end of ProcessInput).
  void ScheduleWrite();
  void StartWrite();
  // Writes write_buf_[write_offset_..] with async_write_some, so progress is seen per chunk.
  void WriteSome();
  bool HasPendingReplies() const { return unready_ > 0; }
  void Close();
  // Every second: closes the connection when idle too long (--timeout), unauthenticated too
  // long (auth_timeout_s) or when a write made no progress for write_timeout_s.
  void ArmTimer();
  bool TimedOut(uint64_t now_ms);
  // Bytes of replies this connection holds: sent or not, ready or waiting for durability
  // (in slots, in the open group, in posted completions).
  size_t OutputBytes() const {
    return out_.size() + write_buf_.size() + slot_bytes_ + inflight_reply_bytes_ +
           group_.replies.size();
  }
  // After a failed AUTH: read nothing for auth_failure_delay_ms.
  void DelayAfterAuthFailure();

  // Blocking commands (BLPOP, ...; docs/server.md "Blocking commands"): the client blocked
  // and the command it runs again when woken. While set, the connection processes no input.
  struct Blocked;
  void RunBlocking(const CommandSpec& spec, const std::vector<std::string>& args);
  // Runs the blocked command under its keys' locks: commits its reply, or (nothing to serve)
  // registers the client with the BlockingRegistry before the locks are released.
  void TryBlocked();
  // A pusher served the blocked client (`reply`) or woke it to try again (nullopt).
  void OnServed(std::optional<std::string> reply);
  void OnBlockTimeout();
  // Goes on with the input after the client is unblocked.
  void ResumeAfterBlock();

  ServerState* const state_;
  asio::ip::tcp::socket socket_;
  const std::atomic<bool>* const stopping_;
  asio::steady_timer timer_;
  asio::steady_timer auth_delay_timer_;
  bool auth_delayed_ = false;
  Session session_;  // what commands see of this connection (identity, AUTH, MULTI, WATCH)
  // Arguments longer than this are freed after their command rather than kept for reuse.
  static constexpr size_t kMaxRetainedArgBytes = 64 * 1024;
  // Bounds on a write group.
  static constexpr size_t kMaxGroupCommands = 512;
  static constexpr size_t kMaxGroupBatchBytes = 1 << 20;
  // A group transaction whose batch grew beyond this is replaced rather than kept.
  static constexpr size_t kMaxRetainedBatchBytes = 256 * 1024;

  RespParser parser_;
  std::vector<std::string> args_;  // the command being executed; its strings are reused
  const CommandSpec* last_spec_ = nullptr;
  bool deferring_write_ = false;  // inside ProcessInput: replies are sent at its end
  bool write_deferred_ = false;   // a reply became ready while deferring
  std::string input_;
  size_t input_pos_ = 0;
  std::array<char, 16 * 1024> read_buf_;
  bool reading_ = false;
  bool paused_ = false;
  bool closing_ = false;  // no more commands; close after the replies are written
  bool closed_ = false;

  std::deque<Slot> slots_;  // the front one is never ready (ready ones move to out_)
  uint64_t slot_base_ = 0;  // id of slots_.front()
  size_t unready_ = 0;
  size_t slotted_commands_ = 0;  // sum of slots_[i].commands
  std::string out_;              // replies ready to send, in order
  std::string write_buf_;        // the bytes async_write is sending
  size_t write_offset_ = 0;      // of write_buf_, sent already
  bool writing_ = false;
  size_t slot_bytes_ = 0;            // sum of slots_[i].data.size()
  size_t inflight_reply_bytes_ = 0;  // replies held by Completions not yet delivered
  uint64_t last_activity_ms_ = 0;
  uint64_t connected_ms_ = 0;
  uint64_t last_write_progress_ms_ = 0;
  WriteGroup group_;
  std::unique_ptr<Blocked> blocked_;
  std::vector<std::string_view> keys_;  // scratch: the keys of the command being run
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_CONNECTION_H_
