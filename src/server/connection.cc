// Connection: command dispatch, MULTI/EXEC/WATCH, AUTH and ordered, durable replies.
#include "server/connection.h"

#include <chrono>
#include <functional>

#include "server/keyspace.h"

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
constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
constexpr std::string_view kReadOnly = "READONLY You can't write against a read only replica.";

}  // namespace

Connection::Connection(ServerState* state, asio::ip::tcp::socket socket,
                       const std::atomic<bool>* stopping)
    : state_(state),
      socket_(std::move(socket)),
      stopping_(stopping),
      idle_timer_(socket_.get_executor()),
      parser_(state->config.resp) {
  info_.id = state_->next_client_id++;
  asio::error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  if (!ec) info_.addr = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  authed_ = state_->config.requirepass.empty();
  state_->connected_clients++;
  state_->total_connections++;
  last_activity_ms_ = NowMs();
}

Connection::~Connection() { state_->connected_clients--; }

void Connection::Start(std::string_view reject) {
  asio::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (!reject.empty()) {
    Reply(ErrorReply(reject));
    closing_ = true;
    FlushReady();
    return;
  }
  ArmIdleTimer();
  DoRead();
}

void Connection::CloseWhenDone() {
  closing_ = true;
  if (!writing_ && unready_ == 0) FlushReady();
}

void Connection::ArmIdleTimer() {
  uint64_t timeout_s = state_->config.idle_timeout_s;
  if (timeout_s == 0) return;
  idle_timer_.expires_after(std::chrono::seconds(timeout_s));
  idle_timer_.async_wait([self = shared_from_this(), timeout_s](const asio::error_code& ec) {
    if (ec || self->closed_) return;
    if (NowMs() - self->last_activity_ms_ >= timeout_s * 1000 && self->slots_.empty()) {
      self->Close();
    } else {
      self->ArmIdleTimer();
    }
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
  const bool outer = !deferring_flush_;
  deferring_flush_ = true;
  std::vector<std::string>& args = args_;
  while (!closing_ && !closed_) {
    if (stopping_->load()) {
      CloseWhenDone();
      break;
    }
    if (slots_.size() >= config.max_pipelined_commands ||
        write_buf_.size() > config.max_output_buffer_bytes) {
      paused_ = true;  // resumed by FlushReady once replies drain
      break;
    }
    std::string error;
    auto outcome = parser_.Parse(input_, &input_pos_, &args, &error);
    if (outcome == RespParser::Outcome::kNeedMore) {
      if (input_.size() - input_pos_ + parser_.pending_bytes() > config.max_query_buffer_bytes) {
        state_->protocol_errors++;
        Reply(ErrorReply("ERR Protocol error: query buffer limit exceeded"));
        closing_ = true;
      }
      break;
    }
    if (outcome == RespParser::Outcome::kError) {
      state_->protocol_errors++;
      Reply(ErrorReply(error));
      closing_ = true;
      break;
    }
    if (!args.empty()) {
      Execute(args);
      // The parser reuses these strings for the next command; do not keep a huge one.
      for (std::string& arg : args) {
        if (arg.capacity() > kMaxRetainedArgBytes) std::string().swap(arg);
      }
    }
  }
  // Drop consumed bytes (amortized: only when they are most of the buffer).
  if (input_pos_ > 0 && (input_pos_ >= input_.size() || input_pos_ > 64 * 1024)) {
    input_.erase(0, input_pos_);
    input_pos_ = 0;
  }
  if (outer) {
    deferring_flush_ = false;
    // Only when something is there to send: FlushReady resumes a paused input by calling
    // back into ProcessInput, which must not recurse without progress.
    if (flush_deferred_ || closing_) {
      flush_deferred_ = false;
      FlushReady();
    }
  }
}

uint64_t Connection::NewSlot() {
  slots_.emplace_back();
  unready_++;
  return slot_base_ + slots_.size() - 1;
}

void Connection::Reply(std::string data) { Fill(NewSlot(), std::move(data)); }

void Connection::Fill(uint64_t slot, std::string data) {
  if (closed_) return;
  assert(slot >= slot_base_ && slot - slot_base_ < slots_.size());
  Slot& s = slots_[slot - slot_base_];
  assert(!s.ready);
  s.ready = true;
  s.data = std::move(data);
  unready_--;
  if (deferring_flush_) {
    flush_deferred_ = true;
    return;
  }
  FlushReady();
}

bool Connection::HasPendingReplies() const { return unready_ > 0; }

void Connection::FlushReady() {
  if (writing_ || closed_) return;
  while (!slots_.empty() && slots_.front().ready) {
    if (write_buf_.empty()) {
      write_buf_.swap(slots_.front().data);
    } else {
      write_buf_.append(slots_.front().data);
    }
    slots_.pop_front();
    slot_base_++;
  }
  if (write_buf_.empty()) {
    if (closing_ && slots_.empty()) {
      asio::error_code ec;
      socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      Close();
    } else if (paused_) {
      paused_ = false;
      ProcessInput();
      DoRead();
    }
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(write_buf_),
                    [self = shared_from_this()](const asio::error_code& ec, size_t) {
                      self->writing_ = false;
                      self->write_buf_.clear();
                      if (ec) {
                        self->Close();
                        return;
                      }
                      self->FlushReady();
                    });
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  Unwatch();
  asio::error_code ec;
  idle_timer_.cancel();
  socket_.close(ec);
}

void Connection::Unwatch() {
  for (const auto& [key, version] : watched_) state_->watches.Unwatch(key);
  watched_.clear();
}

void Connection::Execute(std::vector<std::string>& args) {
  state_->total_commands++;
  // Pipelines repeat one command: compare with the last one before the table lookup.
  const CommandSpec* spec = last_spec_ != nullptr && EqualsIgnoreCase(args[0], last_spec_->name)
                                ? last_spec_
                                : FindCommand(args[0]);
  if (spec != nullptr) last_spec_ = spec;
  if (spec == nullptr) {
    if (in_multi_) multi_dirty_ = true;
    return Reply(ErrorReply(UnknownCommand(args)));
  }
  if (!ArityOk(*spec, args.size())) {
    if (in_multi_) multi_dirty_ = true;
    return Reply(
        ErrorReply("ERR wrong number of arguments for '" + std::string(spec->name) + "' command"));
  }
  if (!authed_ && !(spec->flags & kCmdNoAuth)) {
    if (in_multi_) multi_dirty_ = true;
    return Reply(ErrorReply(kNoAuth));
  }
  if (in_multi_ && !(spec->flags & kCmdNoMulti)) {
    if (state_->config.read_only && (spec->flags & kCmdWrite)) {
      multi_dirty_ = true;
      return Reply(ErrorReply(kReadOnly));
    }
    if (queued_.size() >= state_->config.max_multi_commands) {
      multi_dirty_ = true;
      return Reply(ErrorReply("ERR too many commands in MULTI"));
    }
    queued_.push_back(args);
    return Reply("+QUEUED\r\n");
  }
  if (spec->flags & kCmdSession) {
    if (spec->name == std::string_view("exec")) return RunExec();
    ReplyWriter out(info_.protocol);
    ExecuteSession(*spec, args, &out);
    return Reply(std::move(out.buffer()));
  }
  if (state_->config.read_only && (spec->flags & kCmdWrite)) return Reply(ErrorReply(kReadOnly));
  RunCommand(*spec, args);
}

void Connection::RunCommand(const CommandSpec& spec, const std::vector<std::string>& args) {
  uint64_t start_us = NowUs();
  bool write = spec.flags & kCmdWrite;
  // A read behind this client's own unacknowledged writes must see them: it reads the newest
  // state and its reply (which follows theirs anyway) waits until what it read is durable.
  // So does a read after WATCH: it must see the newest state, or an EXEC could be validated
  // against a value older than one another client already wrote.
  bool unflushed = write || HasPendingReplies() || !watched_.empty();
  uint64_t slot = NewSlot();
  ReplyWriter out(info_.protocol);
  std::optional<KeyLocks::Guard> guard;
  if (write) guard.emplace(&state_->locks, CommandKeys(spec, args), spec.flags & kCmdAllKeys);
  Txn txn(state_->db, unflushed, NowMs(), (spec.flags & kCmdOneRead) != 0);
  CommandContext ctx{state_, &info_, &txn, &out, args};
  spec.handler(ctx);
  Finish(&txn, slot, std::move(out.buffer()), unflushed, CommandIndex(&spec), start_us,
         out.errors() > 0);
}

void Connection::Finish(Txn* txn, uint64_t slot, std::string reply, bool read_unflushed,
                        size_t metric, uint64_t start_us, bool error) {
  auto self = shared_from_this();
  auto deliver = [self, slot, metric, start_us](std::string data, bool failed) {
    self->state_->metrics.Record(metric, NowUs() - start_us, failed);
    self->Fill(slot, std::move(data));
  };
  if (!txn->batch().empty()) {
    // Touch watches only after the batch is applied to memory (Submit returns then): a WATCH
    // that misses this touch is sure to read the new state. Both happen under the key locks.
    auto touch = [this, txn] { txn->TouchWatches(&state_->watches); };
    struct TouchAfter {
      std::function<void()> fn;
      ~TouchAfter() { fn(); }
    } touch_after{touch};
    state_->tracker.Submit(
        txn->batch(), [self, deliver, reply = std::move(reply), error](Status status) mutable {
          asio::post(self->socket_.get_executor(),
                     [deliver, reply = std::move(reply), status, error]() mutable {
                       if (status.ok()) {
                         deliver(std::move(reply), error);
                       } else {
                         deliver(ErrorReply("ERR write failed: " + status.ToString()), true);
                       }
                     });
        });
    return;
  }
  if (!read_unflushed) return deliver(std::move(reply), error);
  // The reply may reflect writes that are applied but not durable yet: wait for them.
  uint64_t gate = state_->tracker.LastTicket();
  state_->tracker.WhenDurable(gate, [self, deliver, reply = std::move(reply), error]() mutable {
    asio::post(self->socket_.get_executor(), [deliver, reply = std::move(reply), error]() mutable {
      deliver(std::move(reply), error);
    });
  });
}

void Connection::RunExec() {
  if (!in_multi_) return Reply(ErrorReply("ERR EXEC without MULTI"));
  std::vector<std::vector<std::string>> queued = std::move(queued_);
  bool dirty = multi_dirty_;
  in_multi_ = false;
  multi_dirty_ = false;
  queued_.clear();
  if (dirty) {
    Unwatch();
    return Reply(ErrorReply("EXECABORT Transaction discarded because of previous errors."));
  }
  uint64_t start_us = NowUs();
  std::vector<std::string_view> keys;
  bool all_keys = false;
  std::vector<const CommandSpec*> specs;
  for (const auto& args : queued) {
    const CommandSpec* spec = FindCommand(args[0]);
    specs.push_back(spec);
    all_keys |= (spec->flags & kCmdAllKeys) != 0;
    for (auto k : CommandKeys(*spec, args)) keys.push_back(k);
  }
  for (const auto& [key, version] : watched_) keys.emplace_back(key);
  uint64_t slot = NewSlot();
  ReplyWriter out(info_.protocol);
  KeyLocks::Guard guard(&state_->locks, keys, all_keys);
  Txn txn(state_->db, true, NowMs());
  bool aborted = false;
  for (const auto& [key, version] : watched_) {
    if (state_->watches.Version(key) != version) aborted = true;
  }
  // Redis 7: a watched key that expired since WATCH also aborts.
  if (aborted) {
    out.NullArray();
  } else {
    out.Array(queued.size());
    for (size_t i = 0; i < queued.size(); i++) {
      const CommandSpec& spec = *specs[i];
      if (spec.flags & kCmdSession) {
        ExecuteSession(spec, queued[i], &out);
      } else {
        CommandContext ctx{state_, &info_, &txn, &out, queued[i]};
        spec.handler(ctx);
      }
    }
  }
  Unwatch();
  Finish(&txn, slot, std::move(out.buffer()), true, CommandIndex(FindCommand("exec")), start_us,
         false);
}

void Connection::ExecuteSession(const CommandSpec& spec, const std::vector<std::string>& args,
                                ReplyWriter* out) {
  std::string_view name = spec.name;
  const std::string& password = state_->config.requirepass;
  if (name == "auth") {
    if (args.size() > 3) return out->Error(kErrSyntax);
    if (password.empty()) {
      return out->Error(
          "ERR AUTH <password> called without any password configured for the default user. "
          "Are you sure your configuration is correct?");
    }
    bool user_ok = args.size() == 2 || args[1] == "default";
    if (!user_ok || args.back() != password) return out->Error(kWrongPass);
    authed_ = true;
    return out->Simple("OK");
  }
  if (name == "hello") {
    int protocol = info_.protocol;
    size_t i = 1;
    if (args.size() > 1) {
      int64_t v = 0;
      if (!ParseInt64(args[1], &v)) {
        return out->Error("ERR Protocol version is not an integer or out of range");
      }
      if (v != 2 && v != 3) return out->Error("NOPROTO unsupported protocol version");
      protocol = static_cast<int>(v);
      i = 2;
    }
    std::optional<std::string> new_name;
    bool authed = authed_;
    for (; i < args.size(); i++) {
      if (EqualsIgnoreCase(args[i], "auth") && i + 2 < args.size()) {
        if (!password.empty() && (args[i + 1] != "default" || args[i + 2] != password)) {
          return out->Error(kWrongPass);
        }
        authed = true;
        i += 2;
      } else if (EqualsIgnoreCase(args[i], "setname") && i + 1 < args.size()) {
        new_name = args[++i];
      } else {
        return out->Error("ERR Syntax error in HELLO option '" + args[i] + "'");
      }
    }
    if (!authed) {
      return out->Error(
          "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
          "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
          "select the RESP protocol version at the same time");
    }
    authed_ = true;
    if (new_name) info_.name = *new_name;
    info_.protocol = protocol;
    ReplyWriter reply(protocol);
    reply.Map(7);
    reply.Bulk("server");
    reply.Bulk("redis");
    reply.Bulk("version");
    reply.Bulk("7.0.15");
    reply.Bulk("proto");
    reply.Integer(protocol);
    reply.Bulk("id");
    reply.Integer(static_cast<int64_t>(info_.id));
    reply.Bulk("mode");
    reply.Bulk("standalone");
    reply.Bulk("role");
    reply.Bulk(state_->config.read_only ? "replica" : "master");
    reply.Bulk("modules");
    reply.Array(0);
    return out->Raw(reply.buffer());
  }
  if (name == "select") {
    int64_t db = 0;
    if (!ParseInt64(args[1], &db)) return out->Error(kErrNotInteger);
    if (db != 0) return out->Error("ERR DB index is out of range");
    return out->Simple("OK");
  }
  if (name == "quit") {
    closing_ = true;
    return out->Simple("OK");
  }
  if (name == "reset") {
    in_multi_ = false;
    multi_dirty_ = false;
    queued_.clear();
    Unwatch();
    info_.protocol = 2;
    info_.name.clear();
    authed_ = state_->config.requirepass.empty();
    return out->Simple("RESET");
  }
  if (name == "client") {
    std::string sub = Lower(args[1]);
    if (sub == "setname" && args.size() == 3) {
      for (char c : args[2]) {
        if (c < '!' || c > '~') {
          return out->Error(
              "ERR Client names cannot contain spaces, newlines or special characters.");
        }
      }
      info_.name = args[2];
      return out->Simple("OK");
    }
    if (sub == "getname" && args.size() == 2) {
      return info_.name.empty() ? out->Null() : out->Bulk(info_.name);
    }
    if (sub == "id" && args.size() == 2) return out->Integer(static_cast<int64_t>(info_.id));
    if ((sub == "info" || sub == "list") && args.size() == 2) {
      return out->Bulk("id=" + std::to_string(info_.id) + " addr=" + info_.addr + " name=" +
                       info_.name + " db=0 resp=" + std::to_string(info_.protocol) + "\n");
    }
    if (sub == "setinfo" && args.size() == 4) return out->Simple("OK");
    return out->Error("ERR unknown subcommand or wrong number of arguments for '" + args[1] +
                      "'. Try CLIENT HELP.");
  }
  if (name == "multi") {
    if (in_multi_) return out->Error("ERR MULTI calls can not be nested");
    in_multi_ = true;
    multi_dirty_ = false;
    queued_.clear();
    return out->Simple("OK");
  }
  if (name == "discard") {
    if (!in_multi_) return out->Error("ERR DISCARD without MULTI");
    in_multi_ = false;
    multi_dirty_ = false;
    queued_.clear();
    Unwatch();
    return out->Simple("OK");
  }
  if (name == "watch") {
    if (in_multi_) return out->Error("ERR WATCH inside MULTI is not allowed");
    for (size_t i = 1; i < args.size(); i++) {
      watched_.emplace_back(args[i], state_->watches.Watch(args[i]));
    }
    return out->Simple("OK");
  }
  if (name == "unwatch") {
    Unwatch();
    return out->Simple("OK");
  }
  out->Error("ERR unknown command '" + std::string(name) + "'");
}

}  // namespace cloudkv::server
