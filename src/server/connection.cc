// SPDX-License-Identifier: Apache-2.0
// Connection: the one command dispatch path (MULTI queueing, AUTH and read-only checks,
// locks, write groups, transactions) and ordered, durable replies.
#include "server/connection.h"

#include <algorithm>
#include <cassert>
#include <chrono>

namespace cloudkv::server {
namespace {

uint64_t NowUs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::string ErrorReply(std::string_view message) {
  ReplyWriter out;
  out.Error(message);
  return std::move(out.buffer());
}

std::string UnknownCommand(const std::vector<std::string>& args) {
  std::string msg =
      "ERR unknown command '" + args[0].substr(0, 128) + "', with args beginning with: ";
  for (size_t i = 1; i < args.size() && msg.size() < 512; i++) {
    msg += "'" + args[i].substr(0, 128) + "' ";
  }
  return msg;
}

constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
constexpr std::string_view kReadOnly = "READONLY You can't write against a read only replica.";

}  // namespace

// The durability callback of one committed batch (or gated reply): posts the replies back to
// the connection's thread. One per batch, not per command.
class Connection::Completion final : public DurabilityTracker::Waiter {
 public:
  Completion(std::shared_ptr<Connection> conn, uint64_t slot, std::string replies,
             std::vector<CommandRecord> records)
      : conn_(std::move(conn)),
        slot_(slot),
        replies_(std::move(replies)),
        records_(std::move(records)) {}

  void Done(Status status) override {
    status_ = std::move(status);
    auto executor = conn_->socket_.get_executor();
    asio::post(executor,
               [self = std::unique_ptr<Completion>(this)] { self->conn_->Deliver(self.get()); });
  }

 private:
  friend class Connection;
  std::shared_ptr<Connection> conn_;
  uint64_t slot_;
  std::string replies_;
  std::vector<CommandRecord> records_;
  Status status_;
};

Connection::Connection(ServerState* state, asio::ip::tcp::socket socket,
                       const std::atomic<bool>* stopping)
    : state_(state),
      socket_(std::move(socket)),
      stopping_(stopping),
      timer_(socket_.get_executor()),
      auth_delay_timer_(socket_.get_executor()),
      parser_(state->config.resp),
      group_(state->db, &state->locks) {
  session_.id = state_->next_client_id++;
  asio::error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  if (!ec) session_.addr = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  session_.authed = state_->config.requirepass.empty();
  state_->connected_clients++;
  state_->total_connections++;
  last_activity_ms_ = NowMs();
  connected_ms_ = last_activity_ms_;
  parser_.set_authenticated(session_.authed);
}

struct Connection::Blocked {
  explicit Blocked(const asio::any_io_executor& executor) : timer(executor) {}
  const CommandSpec* spec = nullptr;
  std::vector<std::string> args;
  uint64_t slot = 0;
  uint64_t start_us = 0;
  uint64_t ticket = 0;  // registered in the BlockingRegistry; 0 = not (now)
  uint8_t mode = 0;     // BlockingRegistry::Mode: which null a timeout replies
  bool timer_armed = false;
  asio::steady_timer timer;
};

Connection::~Connection() {
  assert(!group_.open);
  state_->connected_clients--;
}

void Connection::Start(std::string_view reject) {
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (!reject.empty()) {
    ReplyError(reject);
    closing_ = true;
    StartWrite();
    return;
  }
  ArmTimer();
  DoRead();
}

void Connection::CloseWhenDone() {
  closing_ = true;
  // A blocked client is answered as on a timeout, so that its reply does not hold the close.
  if (blocked_ != nullptr) OnBlockTimeout();
  if (!writing_ && unready_ == 0) StartWrite();
}

void Connection::ArmTimer() {
  if (closed_) return;
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || self->closed_) return;
    if (self->TimedOut(NowMs())) return self->Close();
    self->ArmTimer();
  });
}

bool Connection::TimedOut(uint64_t now_ms) {
  const ServerConfig& config = state_->config;
  if (!session_.authed && config.auth_timeout_s != 0 &&
      now_ms - connected_ms_ >= config.auth_timeout_s * 1000) {
    state_->auth_timeouts++;
    return true;
  }
  if (writing_ && config.write_timeout_s != 0 &&
      now_ms - last_write_progress_ms_ >= config.write_timeout_s * 1000) {
    state_->write_timeouts++;
    return true;
  }
  const uint64_t idle_s = config.idle_timeout_s;
  return idle_s != 0 && now_ms - last_activity_ms_ >= idle_s * 1000 && slots_.empty() &&
         out_.empty() && !writing_ && !group_.open;
}

void Connection::DelayAfterAuthFailure() {
  if (state_->config.auth_failure_delay_ms == 0 || closed_) return;
  auth_delayed_ = true;
  paused_ = true;
  auth_delay_timer_.expires_after(std::chrono::milliseconds(state_->config.auth_failure_delay_ms));
  auth_delay_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    self->auth_delayed_ = false;
    if (ec || self->closed_) return;
    self->paused_ = false;
    self->ProcessInput();
    self->DoRead();
  });
}

void Connection::DoRead() {
  if (reading_ || closed_ || closing_ || paused_) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(read_buf_),
                          [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                            self->reading_ = false;
                            if (ec) {
                              // The peer went away: replies still owed cannot be delivered;
                              // in-flight writes finish on their own (their callbacks see closed_).
                              self->Close();
                              return;
                            }
                            self->last_activity_ms_ = NowMs();
                            self->input_.append(self->read_buf_.data(), n);
                            self->ProcessInput();
                            self->DoRead();
                          });
}

void Connection::ProcessInput() {
  const ServerConfig& config = state_->config;
  // Replies that are ready at once are written together after the whole input is processed:
  // one send per pipeline instead of one for the first reply and one for the rest.
  const bool outer = !deferring_write_;
  deferring_write_ = true;
  std::vector<std::string>& args = args_;
  while (!closing_ && !closed_ && !blocked_) {
    if (stopping_->load()) {
      FlushGroup();
      CloseWhenDone();
      break;
    }
    if (auth_delayed_) break;  // resumed by DelayAfterAuthFailure's timer
    if (slotted_commands_ >= config.max_pipelined_commands ||
        OutputBytes() > config.max_output_buffer_bytes) {
      paused_ = true;  // resumed by StartWrite once replies drain
      break;
    }
    std::string error;
    parser_.set_authenticated(session_.authed);
    auto outcome = parser_.Parse(input_, &input_pos_, &args, &error);
    if (outcome == RespParser::Outcome::kNeedMore) {
      if (input_.size() - input_pos_ + parser_.pending_bytes() > config.max_query_buffer_bytes) {
        FlushGroup();
        state_->protocol_errors++;
        ReplyError("ERR Protocol error: query buffer limit exceeded");
        closing_ = true;
      }
      break;
    }
    if (outcome == RespParser::Outcome::kError) {
      FlushGroup();
      state_->protocol_errors++;
      ReplyError(error);
      closing_ = true;
      break;
    }
    if (!args.empty()) {
      const uint64_t auth_failures = session_.auth_failures;
      Execute(args);
      if (session_.close_requested) closing_ = true;  // QUIT, SHUTDOWN
      // The parser reuses these strings for the next command; do not keep huge ones.
      size_t retained = 0;
      for (std::string& arg : args) {
        if (arg.capacity() > kMaxRetainedArgBytes) std::string().swap(arg);
        retained += arg.capacity();
      }
      if (retained > 4 * kMaxRetainedArgBytes) std::vector<std::string>().swap(args);
      if (OutputBytes() > config.max_output_buffer_hard_bytes) {
        // Replies the client has not read beyond the hard limit: it only harms itself.
        FlushGroup();
        state_->output_limit_closes++;
        Close();
        break;
      }
      if (session_.auth_failures != auth_failures) DelayAfterAuthFailure();
    }
  }
  // The group ends with the input at hand: its replies must not wait for more input.
  FlushGroup();
  // Drop consumed bytes (amortized: only when they are most of the buffer).
  if (input_pos_ > 0 && (input_pos_ >= input_.size() || input_pos_ > 64 * 1024)) {
    input_.erase(0, input_pos_);
    input_pos_ = 0;
  }
  if (outer) {
    deferring_write_ = false;
    // Only when something is there to send: StartWrite resumes a paused input by calling
    // back into ProcessInput, which must not recurse without progress.
    if (write_deferred_ || closing_) {
      write_deferred_ = false;
      StartWrite();
    }
  }
}

uint64_t Connection::NewSlot(uint32_t commands) {
  slots_.emplace_back();
  slots_.back().commands = commands;
  slotted_commands_ += commands;
  unready_++;
  return slot_base_ + slots_.size() - 1;
}

std::string* Connection::ImmediateSink() {
  if (slots_.empty()) return &out_;
  // Behind a pending reply: a slot that is ready at once (shared with ready ones before it).
  if (slots_.back().ready) {
    slots_.back().commands++;
    slotted_commands_++;
    return &slots_.back().data;
  }
  slots_.emplace_back();
  Slot& slot = slots_.back();
  slot.ready = true;
  slot.commands = 1;
  slotted_commands_++;
  return &slot.data;
}

void Connection::ReplyError(std::string_view message) {
  state_->error_replies.fetch_add(1, std::memory_order_relaxed);
  Reply(ErrorReply(message));
}

void Connection::Reply(std::string_view data) {
  if (closed_) return;
  std::string* sink = ImmediateSink();
  if (sink != &out_) slot_bytes_ += data.size();
  sink->append(data);
  ScheduleWrite();
}

void Connection::Fill(uint64_t slot, std::string data) {
  if (closed_) return;
  assert(slot >= slot_base_ && slot - slot_base_ < slots_.size());
  Slot& s = slots_[slot - slot_base_];
  assert(!s.ready);
  s.ready = true;
  s.data = std::move(data);
  slot_bytes_ += s.data.size();
  unready_--;
  // Move the ready prefix to the output.
  while (!slots_.empty() && slots_.front().ready) {
    Slot& front = slots_.front();
    assert(slot_bytes_ >= front.data.size());
    slot_bytes_ -= front.data.size();
    if (out_.empty()) {
      out_.swap(front.data);
    } else {
      out_.append(front.data);
    }
    slotted_commands_ -= front.commands;
    slots_.pop_front();
    slot_base_++;
  }
  ScheduleWrite();
}

void Connection::ScheduleWrite() {
  if (deferring_write_) {
    write_deferred_ = true;
    return;
  }
  StartWrite();
}

void Connection::StartWrite() {
  if (writing_ || closed_) return;
  if (out_.empty()) {
    if (closing_ && slots_.empty()) {
      asio::error_code ec;
      socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      Close();
    } else if (paused_ && !auth_delayed_) {
      paused_ = false;
      ProcessInput();
      DoRead();
    }
    return;
  }
  write_buf_.swap(out_);
  out_.clear();
  // The other buffer may have grown large for one big reply: do not keep it per client.
  if (out_.capacity() > kMaxRetainedArgBytes) std::string().swap(out_);
  write_offset_ = 0;
  writing_ = true;
  last_write_progress_ms_ = NowMs();
  WriteSome();
}

void Connection::WriteSome() {
  assert(writing_ && write_offset_ < write_buf_.size());
  socket_.async_write_some(
      asio::buffer(write_buf_.data() + write_offset_, write_buf_.size() - write_offset_),
      [self = shared_from_this()](const asio::error_code& ec, size_t n) {
        if (ec) {
          self->writing_ = false;
          self->write_buf_.clear();
          self->Close();
          return;
        }
        self->last_write_progress_ms_ = NowMs();
        self->write_offset_ += n;
        if (self->write_offset_ < self->write_buf_.size()) return self->WriteSome();
        self->writing_ = false;
        self->write_buf_.clear();
        self->StartWrite();
      });
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  session_.Unwatch(&state_->watches);
  state_->cursors.ForgetOwner(session_.id);
  if (blocked_ != nullptr) {
    if (blocked_->ticket != 0) state_->blocking.Remove(blocked_->ticket);
    blocked_->timer.cancel();
  }
  asio::error_code ec;
  timer_.cancel();
  auth_delay_timer_.cancel();
  socket_.close(ec);
}

void Connection::Execute(std::vector<std::string>& args) {
  state_->total_commands++;
  // Pipelines repeat one command: compare with the last one before the table lookup.
  const CommandSpec* spec = last_spec_ != nullptr && EqualsIgnoreCase(args[0], last_spec_->name)
                                ? last_spec_
                                : FindCommand(args[0]);
  if (spec != nullptr) last_spec_ = spec;
  // Only a write command run at once can join the open write group; anything else (including
  // its error reply) comes after the group's replies and must see its writes.
  const bool write_now = spec != nullptr && (spec->flags & kCmdWrite) && !session_.in_multi &&
                         session_.authed && !state_->config.read_only &&
                         ArityOk(*spec, args.size());
  if (!write_now) FlushGroup();
  if (spec == nullptr) {
    if (session_.in_multi) session_.multi_dirty = true;
    return ReplyError(UnknownCommand(args));
  }
  if (!ArityOk(*spec, args.size())) {
    if (session_.in_multi) session_.multi_dirty = true;
    return ReplyError("ERR wrong number of arguments for '" + std::string(spec->name) +
                      "' command");
  }
  if (!session_.authed && !(spec->flags & kCmdNoAuth)) {
    if (session_.in_multi) session_.multi_dirty = true;
    return ReplyError(kNoAuth);
  }
  if (session_.in_multi && (spec->flags & kCmdNoTransaction)) {
    session_.multi_dirty = true;
    return ReplyError("ERR Command not allowed inside a transaction");
  }
  if (session_.in_multi && !(spec->flags & kCmdNoMulti)) {
    if (state_->config.read_only && (spec->flags & kCmdWrite)) {
      session_.multi_dirty = true;
      return ReplyError(kReadOnly);
    }
    if (session_.queued.size() >= state_->config.max_multi_commands) {
      session_.multi_dirty = true;
      return ReplyError("ERR too many commands in MULTI");
    }
    // Each argument costs its bytes and a string's header.
    size_t bytes = 0;
    for (const std::string& arg : args) bytes += arg.size() + sizeof(std::string);
    const size_t max_bytes =
        std::min(state_->config.max_multi_bytes, state_->config.max_query_buffer_bytes);
    if (session_.queued_bytes + bytes > max_bytes) {
      session_.multi_dirty = true;
      return ReplyError("ERR MULTI queue exceeds " + std::to_string(max_bytes) +
                        " bytes (max-multi-bytes / client-query-buffer-limit)");
    }
    session_.queued_bytes += bytes;
    session_.queued.push_back(QueuedCommand{spec, args});
    return Reply("+QUEUED\r\n");
  }
  if (spec->flags & kCmdSession) return RunSession(*spec, args);
  if (spec->flags & kCmdTransaction) return RunTransaction(*spec, args);
  if (state_->config.read_only && (spec->flags & kCmdWrite)) return ReplyError(kReadOnly);
  if (spec->flags & kCmdBlocking) return RunBlocking(*spec, args);
  if (spec->flags & kCmdWrite) return RunWrite(*spec, args);
  RunRead(*spec, args);
}

void Connection::RunSession(const CommandSpec& spec, const std::vector<std::string>& args) {
  assert(!group_.open);
  // Replies in the protocol spoken when the command arrived (HELLO writes its reply in the
  // new one itself).
  std::string* sink = ImmediateSink();
  const size_t before = sink->size();
  ReplyWriter out(session_.protocol, sink);
  CommandContext ctx{state_, &session_, nullptr, &out, args};
  spec.handler(ctx);
  if (sink != &out_) slot_bytes_ += sink->size() - before;
  state_->error_replies.fetch_add(out.errors(), std::memory_order_relaxed);
  ScheduleWrite();
}

void Connection::RunTransaction(const CommandSpec& spec, const std::vector<std::string>& args) {
  assert(!group_.open);
  // Outside MULTI, or after a refused command, there is nothing to lock or commit: the
  // handler replies its error at once.
  if (!session_.in_multi || session_.multi_dirty) return RunSession(spec, args);
  uint64_t start_us = NowUs();
  std::vector<std::string_view> keys;
  bool all_keys = false;
  for (const QueuedCommand& queued : session_.queued) {
    all_keys |= (queued.spec->flags & kCmdAllKeys) != 0;
    CommandKeys(*queued.spec, queued.args, &keys_);
    keys.insert(keys.end(), keys_.begin(), keys_.end());
  }
  for (const auto& [key, version] : session_.watched) keys.emplace_back(key);
  uint64_t slot = NewSlot(1);
  std::string reply;
  ReplyWriter out(session_.protocol, &reply);
  KeyLocks::Set locks(&state_->locks);
  locks.Lock(keys, all_keys);
  keys.clear();  // its views die with the queue and the watches, which the handler ends
  Txn txn(state_->db, /*read_unflushed=*/true, NowMs());
  CommandContext ctx{state_, &session_, &txn, &out, args};
  spec.handler(ctx);
  // EXEC's own reply is an array (or nil when a watched key changed), never an error; the
  // errors of the commands it ran are theirs.
  std::vector<CommandRecord> records{CommandRecord{CommandIndex(&spec), start_us, reply.size(),
                                                   /*error=*/false, !txn.batch().empty()}};
  Commit(&txn, slot, std::move(reply), std::move(records));
}

void Connection::RunRead(const CommandSpec& spec, const std::vector<std::string>& args) {
  assert(!group_.open);
  uint64_t start_us = NowUs();
  // A read behind this client's own unacknowledged writes must see them: it reads the newest
  // state and its reply (which follows theirs anyway) waits until what it read is durable.
  // So does a read after WATCH: it must see the newest state, or an EXEC could be validated
  // against a value older than one another client already wrote.
  const bool unflushed = HasPendingReplies() || !session_.watched.empty();
  Txn txn(state_->db, unflushed, NowMs(), (spec.flags & kCmdOneRead) != 0);
  if (!unflushed) {
    // The durable view: the reply is ready at once and goes straight to the output.
    std::string* sink = ImmediateSink();
    const size_t before = sink->size();
    ReplyWriter out(session_.protocol, sink);
    CommandContext ctx{state_, &session_, &txn, &out, args};
    spec.handler(ctx);
    if (sink != &out_) slot_bytes_ += sink->size() - before;
    state_->metrics.Record(CommandIndex(&spec), NowUs() - start_us, out.errors() > 0);
    state_->error_replies.fetch_add(out.errors(), std::memory_order_relaxed);
    return ScheduleWrite();
  }
  uint64_t slot = NewSlot(1);
  std::string reply;
  ReplyWriter out(session_.protocol, &reply);
  CommandContext ctx{state_, &session_, &txn, &out, args};
  spec.handler(ctx);
  std::vector<CommandRecord> records{
      CommandRecord{CommandIndex(&spec), start_us, reply.size(), out.errors() > 0, false}};
  Commit(&txn, slot, std::move(reply), std::move(records));
}

bool Connection::Groupable(const CommandSpec& spec, const std::vector<std::string>& args) const {
  if (!(spec.flags & kCmdGroup)) return false;
  const ServerConfig& config = state_->config;
  size_t total = 0, longest = 0;
  for (const std::string& arg : args) {
    total += arg.size();
    longest = std::max(longest, arg.size());
  }
  // A record's key or value is one argument plus at most a 9-byte prefix or header, or a
  // small metadata record (a hash's); batch records add a few bytes of framing each.
  constexpr size_t kSlack = 64;
  if (longest + kSlack > std::min(config.engine_max_key_bytes, config.engine_max_value_bytes)) {
    return false;
  }
  size_t batch_bytes = group_.open ? group_.txn->batch().ByteSize() : 0;
  return batch_bytes + 2 * total + kSlack * args.size() <=
         std::min(kMaxGroupBatchBytes, config.engine_max_batch_bytes);
}

void Connection::RunWrite(const CommandSpec& spec, const std::vector<std::string>& args) {
  uint64_t start_us = NowUs();
  const bool groupable = Groupable(spec, args);
  CommandKeys(spec, args, &keys_);
  if (group_.open &&
      (!groupable || group_.records.size() >= kMaxGroupCommands || !group_.locks.TryAdd(keys_))) {
    FlushGroup();
  }
  if (!group_.open) {
    // Holding no stripe: a blocking lock cannot deadlock.
    group_.locks.Lock(keys_, (spec.flags & kCmdAllKeys) != 0);
    group_.txn->Reset(NowMs());
    group_.slot = NewSlot(0);
    group_.open = true;
  } else {
    group_.txn->set_now_ms(NowMs());
  }
  Slot& slot = slots_[group_.slot - slot_base_];
  slot.commands++;
  slotted_commands_++;
  const uint32_t records_before = group_.txn->batch().Count();
  ReplyWriter out(session_.protocol, &group_.replies);
  CommandContext ctx{state_, &session_, group_.txn.get(), &out, args};
  spec.handler(ctx);
  group_.records.push_back(CommandRecord{CommandIndex(&spec), start_us, group_.replies.size(),
                                         out.errors() > 0,
                                         group_.txn->batch().Count() != records_before});
  if (!groupable) FlushGroup();
}

void Connection::FlushGroup() {
  if (!group_.open) return;
  Commit(group_.txn.get(), group_.slot, std::move(group_.replies), std::move(group_.records));
  group_.open = false;
  group_.locks.Release();
  if (group_.txn->batch().ByteSize() > kMaxRetainedBatchBytes) {
    group_.txn = std::make_unique<Txn>(state_->db, /*read_unflushed=*/true, 0);
  }
  group_.replies.clear();
  group_.records.clear();
}

void Connection::Commit(Txn* txn, uint64_t slot, std::string replies,
                        std::vector<CommandRecord> records) {
  inflight_reply_bytes_ += replies.size();
  auto completion = std::make_unique<Completion>(shared_from_this(), slot, std::move(replies),
                                                 std::move(records));
  if (!txn->batch().empty()) {
    // Applied to memory when Submit returns; the completion runs once it is durable.
    state_->tracker.Submit(txn->batch(), completion.release());
    // Touch watches only after the batch is applied to memory: a WATCH that misses this touch
    // is sure to read the new state. Both happen under the key locks.
    txn->TouchWatches(&state_->watches);
    return;
  }
  // Nothing written, but the replies may reflect writes that are applied and not durable yet:
  // wait for them.
  state_->tracker.WhenDurable(state_->tracker.LastTicket(), completion.release());
}

void Connection::Deliver(Completion* completion) {
  assert(inflight_reply_bytes_ >= completion->replies_.size());
  inflight_reply_bytes_ -= completion->replies_.size();
  const uint64_t now_us = NowUs();
  const bool failed = !completion->status_.ok();
  for (const CommandRecord& r : completion->records_) {
    const bool error = r.error || (failed && r.wrote);
    state_->metrics.Record(r.metric, now_us - r.start_us, error);
    if (error) state_->error_replies.fetch_add(1, std::memory_order_relaxed);
  }
  // A newer writer took the database over: say so at once (RunServe acts on it).
  if (completion->status_.IsFenced()) state_->fenced.store(true);
  if (!failed) return Fill(completion->slot_, std::move(completion->replies_));
  // The batch is not acknowledged: the commands that wrote fail, the others keep their reply.
  const std::string error = ErrorReply("ERR write failed: " + completion->status_.ToString());
  std::string replies;
  size_t begin = 0;
  for (const CommandRecord& r : completion->records_) {
    if (r.wrote) {
      replies += error;
    } else {
      replies.append(completion->replies_, begin, r.reply_end - begin);
    }
    begin = r.reply_end;
  }
  Fill(completion->slot_, std::move(replies));
}

}  // namespace cloudkv::server

namespace cloudkv::server {

void Connection::RunBlocking(const CommandSpec& spec, const std::vector<std::string>& args) {
  FlushGroup();
  assert(blocked_ == nullptr);
  blocked_ = std::make_unique<Blocked>(socket_.get_executor());
  blocked_->spec = &spec;
  blocked_->args = args;
  blocked_->start_us = NowUs();
  blocked_->slot = NewSlot(1);
  TryBlocked();
}

void Connection::TryBlocked() {
  assert(blocked_ != nullptr && blocked_->ticket == 0);
  Blocked& b = *blocked_;
  CommandKeys(*b.spec, b.args, &keys_);
  KeyLocks::Set locks(&state_->locks);
  locks.Lock(keys_, false);
  Txn txn(state_->db, /*read_unflushed=*/true, NowMs());
  std::string reply;
  ReplyWriter out(session_.protocol, &reply);
  CommandContext ctx{state_, &session_, &txn, &out, b.args};
  session_.may_block = true;
  session_.block.reset();
  b.spec->handler(ctx);
  session_.may_block = false;
  if (session_.block) {
    // Nothing to serve: register while the keys' locks are held, so that no push can come
    // between the handler's reads and the registration.
    assert(txn.batch().empty() && reply.empty());
    Session::BlockRequest request = std::move(*session_.block);
    session_.block.reset();
    b.mode = request.mode;
    if (!b.timer_armed && request.timeout_ms != 0) {
      b.timer_armed = true;
      b.timer.expires_after(std::chrono::milliseconds(request.timeout_ms));
      b.timer.async_wait([self = shared_from_this()](const asio::error_code& ec) {
        if (!ec) self->OnBlockTimeout();
      });
    }
    std::weak_ptr<Connection> weak = weak_from_this();
    auto executor = socket_.get_executor();
    b.ticket = state_->blocking.Add(
        std::move(request.keys), static_cast<BlockingRegistry::Mode>(request.mode),
        session_.protocol, [weak, executor](std::optional<std::string> served) {
          asio::post(executor, [weak, served = std::move(served)]() mutable {
            std::shared_ptr<Connection> self = weak.lock();
            if (self && !self->closed_ && self->blocked_ != nullptr) {
              self->OnServed(std::move(served));
            }
          });
        });
    return;
  }
  std::vector<CommandRecord> records{CommandRecord{CommandIndex(b.spec), b.start_us, reply.size(),
                                                   out.errors() > 0, !txn.batch().empty()}};
  const uint64_t slot = b.slot;
  b.timer.cancel();
  blocked_.reset();
  Commit(&txn, slot, std::move(reply), std::move(records));
}

void Connection::OnServed(std::optional<std::string> reply) {
  assert(blocked_ != nullptr);
  blocked_->ticket = 0;
  if (!reply) {
    TryBlocked();
    return ResumeAfterBlock();
  }
  Blocked& b = *blocked_;
  // The pusher popped our element in its own transaction and holds the key's lock until that
  // is applied: once we hold the locks, its write has a ticket and the reply waits for it.
  CommandKeys(*b.spec, b.args, &keys_);
  KeyLocks::Set locks(&state_->locks);
  locks.Lock(keys_, false);
  std::vector<CommandRecord> records{
      CommandRecord{CommandIndex(b.spec), b.start_us, reply->size(), false, true}};
  inflight_reply_bytes_ += reply->size();  // counted against the output limit until delivered
  auto completion =
      std::make_unique<Completion>(shared_from_this(), b.slot, std::move(*reply), records);
  b.timer.cancel();
  blocked_.reset();
  state_->tracker.WhenDurable(state_->tracker.LastTicket(), completion.release());
  locks.Release();
  ResumeAfterBlock();
}

void Connection::OnBlockTimeout() {
  if (closed_ || blocked_ == nullptr) return;
  // Already served: the reply is on its way.
  if (blocked_->ticket != 0 && !state_->blocking.Remove(blocked_->ticket)) return;
  ReplyWriter out(session_.protocol);
  if (static_cast<BlockingRegistry::Mode>(blocked_->mode) == BlockingRegistry::Mode::kRetry) {
    out.Null();
  } else {
    out.NullArray();
  }
  state_->metrics.Record(CommandIndex(blocked_->spec), NowUs() - blocked_->start_us, false);
  const uint64_t slot = blocked_->slot;
  blocked_.reset();
  Fill(slot, std::move(out.buffer()));
  ResumeAfterBlock();
}

void Connection::ResumeAfterBlock() {
  if (blocked_ != nullptr || closed_) return;
  ProcessInput();
  DoRead();
}

}  // namespace cloudkv::server
