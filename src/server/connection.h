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
  uint64_t id() const { return info_.id; }

 private:
  struct Slot {
    bool ready = false;
    std::string data;
  };

  void DoRead();
  void ProcessInput();
  // `args` stays the caller's (the parser reuses its strings).
  void Execute(std::vector<std::string>& args);
  void ExecuteSession(const CommandSpec& spec, const std::vector<std::string>& args,
                      ReplyWriter* out);
  void RunCommand(const CommandSpec& spec, const std::vector<std::string>& args);
  void RunExec();
  // Commits a transaction's writes (or waits until the state it read is durable) and fills
  // the slot with `reply` then.
  void Finish(class Txn* txn, uint64_t slot, std::string reply, bool read_unflushed, size_t metric,
              uint64_t start_us, bool error);
  uint64_t NewSlot();
  void Reply(std::string data);  // a new slot filled at once
  void Fill(uint64_t slot, std::string data);
  void FlushReady();
  bool HasPendingReplies() const;
  void Unwatch();
  void Close();
  void ArmIdleTimer();

  ServerState* const state_;
  asio::ip::tcp::socket socket_;
  const std::atomic<bool>* const stopping_;
  asio::steady_timer idle_timer_;
  ClientInfo info_;
  // Arguments longer than this are freed after their command rather than kept for reuse.
  static constexpr size_t kMaxRetainedArgBytes = 64 * 1024;

  RespParser parser_;
  std::vector<std::string> args_;  // the command being executed; its strings are reused
  const CommandSpec* last_spec_ = nullptr;
  bool deferring_flush_ = false;  // inside ProcessInput: Fill leaves the write to its end
  bool flush_deferred_ = false;   // a reply was filled while deferring
  std::string input_;
  size_t input_pos_ = 0;
  std::array<char, 16 * 1024> read_buf_;
  bool reading_ = false;
  bool paused_ = false;
  bool closing_ = false;  // no more commands; close after the replies are written
  bool closed_ = false;
  bool authed_ = false;

  std::deque<Slot> slots_;
  uint64_t slot_base_ = 0;  // id of slots_.front()
  size_t unready_ = 0;
  std::string write_buf_;
  bool writing_ = false;
  uint64_t last_activity_ms_ = 0;

  bool in_multi_ = false;
  bool multi_dirty_ = false;
  std::vector<std::vector<std::string>> queued_;
  std::vector<std::pair<std::string, uint64_t>> watched_;
};

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_CONNECTION_H_
