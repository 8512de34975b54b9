// SPDX-License-Identifier: Apache-2.0
// Server: acceptor, io threads, connection registry, metrics endpoint, graceful shutdown.
#include "server/server.h"

#include <httplib.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "cloudkv/object_store.h"
#include "server/connection.h"

namespace cloudkv::server {
namespace {

std::string HostOf(const ServerConfig& config) {
  return config.bind == "localhost" ? "127.0.0.1" : config.bind;
}

bool IsLoopback(const std::string& host) {
  asio::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

class ServerImpl : public Server {
 public:
  ServerImpl(DB* db, const ServerConfig& config) : state_(db, config, db->GetStats().writer_epoch) {
    // Opening as writer took the epoch: the writer is confirmed until a read says otherwise.
    state_.writer_confirmed.store(!config.read_only);
  }

  ~ServerImpl() override { Stop(); }

  Status Listen() {
    const ServerConfig& config = state_.config;
    asio::error_code ec;
    auto address = asio::ip::make_address(HostOf(config), ec);
    if (ec) return Status::InvalidArgument("bad bind address '" + config.bind + "'");
    int threads = std::max(1, config.threads);
    for (int i = 0; i < threads; i++) {
      ios_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*ios_.back()));
    }
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(*ios_[0]);
    accept_backoff_.emplace(*ios_[0]);
    asio::ip::tcp::endpoint endpoint(address, static_cast<uint16_t>(config.port));
    if (config.listen_fd >= 0) {
      // The caller bound the port before opening the database; accept on a duplicate so that
      // closing this server leaves the caller's socket listening.
      int fd = ::dup(config.listen_fd);
      if (fd < 0) return Status::IOError("dup of the listening socket failed");
      acceptor_->assign(endpoint.protocol(), fd, ec);
      if (ec) ::close(fd);
    } else {
      acceptor_->open(endpoint.protocol(), ec);
      if (!ec) acceptor_->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor_->bind(endpoint, ec);
      if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return Status::IOError("cannot listen on " + config.bind + ":" + std::to_string(config.port) +
                             ": " + ec.message());
    }
    port_ = acceptor_->local_endpoint().port();
    Accept();
    for (auto& io : ios_) {
      threads_.emplace_back([io = io.get()] { io->run(); });
    }
    if (!config.read_only) watchdog_ = std::thread([this] { Watchdog(); });
    return Status::OK();
  }

  int port() const override { return port_; }
  bool fenced() const override { return state_.fenced.load(); }
  bool ready(std::string* why) const override {
    if (state_.WasFenced()) {
      *why = state_.config.fenced_read_only
                 ? "fenced: another writer owns the database; serving reads only"
                 : "fenced: another writer owns the database";
      return false;
    }
    if (!state_.config.read_only && !state_.writer_confirmed.load()) {
      std::lock_guard lock(watchdog_mu_);
      *why = "writer epoch not confirmed: " + watchdog_error_;
      return false;
    }
    return true;
  }
  std::string RenderMetrics() override { return RenderPrometheus(state_); }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    stopping_.store(true);
    {
      std::lock_guard lock(watchdog_mu_);
      watchdog_stop_ = true;
    }
    watchdog_cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    // 1. Stop accepting.
    asio::post(*ios_[0], [this] {
      asio::error_code ec;
      acceptor_->close(ec);
      accept_backoff_->cancel();
    });
    state_.keyspace.Stop();
    // 2. Writes in flight become durable (their replies get posted to the connections).
    state_.tracker.Drain();
    // 3. Each connection writes what it owes and closes; wait a bounded time for that.
    for (auto& [conn, executor] : Connections()) {
      asio::post(executor, [conn = conn] { conn->CloseWhenDone(); });
    }
    for (int i = 0; i < 200 && state_.connected_clients.load() > 0; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    guards_.clear();
    for (auto& io : ios_) io->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::lock_guard lock(mu_);
    connections_.clear();
  }

 private:
  struct Entry {
    std::weak_ptr<Connection> conn;
    asio::any_io_executor executor;
  };
  std::vector<std::pair<std::shared_ptr<Connection>, asio::any_io_executor>> Connections() {
    std::vector<std::pair<std::shared_ptr<Connection>, asio::any_io_executor>> out;
    std::lock_guard lock(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (auto conn = it->second.conn.lock()) {
        out.emplace_back(conn, it->second.executor);
        ++it;
      } else {
        it = connections_.erase(it);
      }
    }
    return out;
  }

  void Accept() {
    asio::io_context& target = *ios_[next_io_++ % ios_.size()];
    acceptor_->async_accept(
        target, [this, &target](const asio::error_code& ec, asio::ip::tcp::socket socket) {
          if (ec) {
            if (ec == asio::error::operation_aborted || stopping_.load()) return;
            // EMFILE, ENFILE, ENOBUFS...: the pending connection stays in the backlog, so
            // accepting again at once would fail again at once (a busy loop). Back off.
            state_.accept_errors++;
            accept_backoff_->expires_after(std::chrono::milliseconds(kAcceptBackoffMs));
            accept_backoff_->async_wait([this](const asio::error_code& wait_ec) {
              if (!wait_ec && !stopping_.load()) Accept();
            });
            return;
          }
          auto conn = std::make_shared<Connection>(&state_, std::move(socket), &stopping_);
          bool reject = state_.connected_clients.load() > state_.config.max_clients;
          if (reject) state_.rejected_connections++;
          {
            std::lock_guard lock(mu_);
            connections_[conn->id()] = Entry{conn, target.get_executor()};
            if (connections_.size() > 2 * state_.config.max_clients + 64) {
              std::erase_if(connections_, [](const auto& e) { return e.second.conn.expired(); });
            }
          }
          asio::post(target, [conn, reject] {
            conn->Start(reject ? "ERR max number of clients reached" : "");
          });
          if (!stopping_.load()) Accept();
        });
  }

  // Reads the database every watchdog_interval_ms, so that a newer writer's fence is seen
  // without client traffic: a read confirms the writer's epoch once epoch_check_interval_ms
  // have passed since the last confirmation, and fails with Fenced once it is replaced.
  void Watchdog() {
    const auto interval =
        std::chrono::milliseconds(std::max<uint64_t>(10, state_.config.watchdog_interval_ms));
    std::unique_lock lock(watchdog_mu_);
    while (!watchdog_stop_ && !state_.fenced.load()) {
      watchdog_cv_.wait_for(lock, interval, [this] { return watchdog_stop_; });
      if (watchdog_stop_) break;
      lock.unlock();
      Result<std::string> probe = state_.db->Get(ReadOptions(), kWatchdogProbeKey);
      lock.lock();
      if (probe.ok() || probe.status().IsNotFound()) {
        state_.writer_confirmed.store(true);
        watchdog_error_.clear();
      } else {
        state_.writer_confirmed.store(false);
        watchdog_error_ = probe.status().ToString();
        if (probe.status().IsFenced()) {
          state_.fenced.store(true);
          // Stop accepting at once: a client that connects from now on waits in the listen
          // queue for the server RunServe starts next (read-only), instead of reaching this
          // one, whose reads fail with Fenced until RunServe notices and stops it.
          asio::post(*ios_[0], [this] {
            asio::error_code ec;
            acceptor_->close(ec);
            accept_backoff_->cancel();
          });
        }
      }
    }
  }

  // A key no client can write (the server's encoding starts every key with a type byte).
  static constexpr std::string_view kWatchdogProbeKey = "\xff\xff cloudkv serve watchdog";

  ServerState state_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> accept_backoff_;  // on ios_[0], as the acceptor
  static constexpr int kAcceptBackoffMs = 100;
  size_t next_io_ = 0;
  int port_ = 0;
  std::mutex mu_;
  std::unordered_map<uint64_t, Entry> connections_;
  mutable std::mutex watchdog_mu_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;  // guarded by watchdog_mu_
  std::string watchdog_error_;  // guarded by watchdog_mu_: the last failed probe's status
  std::thread watchdog_;
};

// The metrics port: /metrics, /healthz and /readyz. Bound before the database is opened and
// kept across the servers RunServe runs (writer, then read-only after a fence), so that
// health checks answer while the database opens and after it is lost.
class HttpEndpoint {
 public:
  ~HttpEndpoint() { Stop(); }

  Status Bind(const std::string& host, int port) {
    http_ = std::make_unique<httplib::Server>();
    // httplib's default also sets SO_REUSEPORT, which would let a second server share a port
    // in use instead of failing to bind it.
    http_->set_socket_options([](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    http_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      std::string why;
      bool ready = Ready(&why);
      res.status = ready ? 200 : 503;
      res.set_content(ready ? "ready\n" : "not ready: " + why + "\n", "text/plain");
    });
    http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      if (server_ == nullptr) {
        res.status = 503;
        res.set_content("# " + phase_ + "\ncloudkv_ready 0\n", "text/plain; version=0.0.4");
        return;
      }
      std::string why;
      std::string body = server_->RenderMetrics();
      body += "# HELP cloudkv_ready 1 when /readyz answers 200.\n# TYPE cloudkv_ready gauge\n";
      body += server_->ready(&why) ? "cloudkv_ready 1\n" : "cloudkv_ready 0\n";
      res.set_content(body, "text/plain; version=0.0.4");
    });
    if (!http_->bind_to_port(host, port)) {
      return Status::IOError("cannot listen for metrics on " + host + ":" + std::to_string(port) +
                             " (in use, or not a local address)");
    }
    thread_ = std::thread([this] { http_->listen_after_bind(); });
    return Status::OK();
  }

  // The server whose state the endpoints report (null while none runs), and what the process
  // is doing meanwhile.
  void Attach(Server* server, std::string phase) {
    std::lock_guard lock(mu_);
    server_ = server;
    phase_ = std::move(phase);
  }

  void Stop() {
    if (http_ == nullptr) return;
    http_->stop();
    if (thread_.joinable()) thread_.join();
    http_.reset();
  }

 private:
  bool Ready(std::string* why) {
    std::lock_guard lock(mu_);
    if (server_ == nullptr) {
      *why = phase_;
      return false;
    }
    return server_->ready(why);
  }

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::mutex mu_;
  Server* server_ = nullptr;  // guarded by mu_
  std::string phase_ = "opening the database";
};

// Binds and listens on the RESP port. Returns the socket (owned by the caller) and the port.
Result<std::pair<int, int>> BindListener(const ServerConfig& config) {
  asio::io_context io(1);
  asio::error_code ec;
  auto address = asio::ip::make_address(HostOf(config), ec);
  if (ec) return Status::InvalidArgument("bad bind address '" + config.bind + "'");
  asio::ip::tcp::endpoint endpoint(address, static_cast<uint16_t>(config.port));
  asio::ip::tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  int port = 0;
  if (!ec) port = acceptor.local_endpoint(ec).port();
  int fd = -1;
  if (!ec) fd = acceptor.release(ec);
  if (ec) {
    return Status::IOError("cannot listen on " + config.bind + ":" + std::to_string(config.port) +
                           ": " + ec.message());
  }
  return std::make_pair(fd, port);
}

// Descriptors open in this process now (0 if /proc cannot tell).
size_t OpenDescriptors() {
  std::error_code ec;
  size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    count++;
  }
  return count > 0 ? count - 1 : 0;  // less the directory's own
}

// Fits config->max_clients to the open-file limit (as Redis does), once the database is open:
// raises the soft limit towards max_clients + the descriptors open now + reserved_fds as far
// as the hard limit allows, and lowers max_clients if that is not enough, so that clients
// cannot take the descriptors the engine needs for its uploads, flushes and compactions.
// Logs what it changed.
void FitMaxClients(ServerConfig* config, std::ostream& log) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const size_t in_use = OpenDescriptors();
  const size_t needed = in_use + config->reserved_fds;
  const rlim_t wanted = static_cast<rlim_t>(config->max_clients + needed);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur =
        limit.rlim_max == RLIM_INFINITY ? wanted : std::min<rlim_t>(wanted, limit.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return;
  const size_t available = static_cast<size_t>(limit.rlim_cur);
  const size_t fitted = available > needed + 1 ? available - needed : 1;
  log << "cloudkv serve: warning: the open-file limit is " << available << " descriptors; "
      << "maxclients lowered from " << config->max_clients << " to " << fitted << " (" << in_use
      << " open, " << config->reserved_fds
      << " kept for the engine; raise the limit with ulimit -n)" << std::endl;
  config->max_clients = fitted;
}

Status CheckBindAllowed(const ServerConfig& config) {
  if (!IsLoopback(HostOf(config)) && config.requirepass.empty()) {
    return Status::InvalidArgument("refusing to listen on non-loopback address '" + config.bind +
                                   "' without --requirepass");
  }
  return Status::OK();
}

Options EngineOptions(const ServerConfig& config, size_t max_value_bytes) {
  Options options;
  options.read_only = config.read_only;
  options.compaction_filter = NewExpiryCompactionFilter();
  options.create_in_non_empty_location = config.create_in_non_empty_location;
  if (max_value_bytes != 0) options.max_value_bytes = max_value_bytes;
  if (config.block_cache_bytes != 0) options.block_cache_bytes = config.block_cache_bytes;
  options.disk_cache_dir = config.disk_cache_dir;
  if (config.disk_cache_bytes != 0) options.disk_cache_bytes = config.disk_cache_bytes;
  if (config.wal_flush_interval_ms) options.wal_flush_interval_ms = *config.wal_flush_interval_ms;
  if (config.max_wal_puts_per_second) {
    options.max_wal_puts_per_second = *config.max_wal_puts_per_second;
  }
  if (config.wal_max_bytes) options.wal_max_bytes = *config.wal_max_bytes;
  if (config.epoch_check_interval_ms) {
    options.epoch_check_interval_ms = *config.epoch_check_interval_ms;
  }
  return options;
}

enum class WaitOutcome { kSignal, kFenced };

// Waits for SIGINT/SIGTERM (blocked in every thread) or for the server to be fenced.
WaitOutcome WaitForSignalOrFence(const sigset_t& signals, Server* server, int* sig) {
  while (true) {
    timespec timeout{0, 100 * 1000 * 1000};
    int got = sigtimedwait(&signals, nullptr, &timeout);
    if (got > 0) {
      *sig = got;
      return WaitOutcome::kSignal;
    }
    if (server->fenced()) return WaitOutcome::kFenced;
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(DB* db, const ServerConfig& config) {
  if (Status s = CheckBindAllowed(config); !s.ok()) return s;
  auto server = std::make_unique<ServerImpl>(db, config);
  Status s = server->Listen();
  if (!s.ok()) return s;
  return std::unique_ptr<Server>(std::move(server));
}

int RunServe(const ServerConfig& config, size_t max_value_bytes, std::ostream& log) {
  // Signals are taken by sigtimedwait on this thread; every thread started below inherits the
  // mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Ports first: a server that cannot listen must exit before it opens the database as
  // writer, which would fence the writer already serving it.
  if (Status s = CheckBindAllowed(config); !s.ok()) {
    log << "cloudkv serve: " << s.ToString() << "\n";
    return 1;
  }
  auto listener = BindListener(config);
  if (!listener.ok()) {
    log << "cloudkv serve: " << listener.status().ToString() << "\n";
    return 1;
  }
  const int listen_fd = listener->first;
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{listen_fd};
  HttpEndpoint http;
  if (config.metrics_port != 0) {
    const std::string metrics_host =
        config.metrics_bind == "localhost" ? "127.0.0.1" : config.metrics_bind;
    if (!IsLoopback(metrics_host)) {
      log << "cloudkv serve: warning: the metrics endpoint listens on " << config.metrics_bind
          << " without authentication (--metrics-bind); anyone who can reach it reads the "
             "server's figures"
          << std::endl;
    }
    if (Status s = http.Bind(metrics_host, config.metrics_port); !s.ok()) {
      log << "cloudkv serve: " << s.ToString() << "\n";
      return 1;
    }
  }
  log << "cloudkv serve: listening on " << config.bind << ":" << listener->second;
  if (config.metrics_port != 0) {
    log << ", metrics on " << config.metrics_bind << ":" << config.metrics_port;
  }
  log << "; opening " << config.db_url << (config.read_only ? " read-only" : " as writer")
      << std::endl;

  ServerConfig effective = config;
  effective.listen_fd = listen_fd;
  effective.port = listener->second;
  // SHUTDOWN takes the signal path: the wait below sees a SIGTERM sent to this process. The
  // flag outlives every caller: the server's threads are joined before this function returns.
  std::atomic<bool> shutdown_requested{false};
  effective.shutdown = [&shutdown_requested] {
    shutdown_requested.store(true);
    ::kill(::getpid(), SIGTERM);
  };
  while (true) {
    Options options = EngineOptions(effective, max_value_bytes);
    effective.engine_max_key_bytes = options.max_key_bytes;
    effective.engine_max_value_bytes = options.max_value_bytes;
    effective.engine_max_batch_bytes = options.max_batch_bytes;
    auto db = DB::Open(config.db_url, options);
    if (!db.ok()) {
      log << "cloudkv serve: cannot open " << config.db_url << ": " << db.status().ToString()
          << "\n";
      return 1;
    }
    ServerConfig fitted = effective;
    FitMaxClients(&fitted, log);
    auto server = Server::Start(db->get(), fitted);
    if (!server.ok()) {
      log << "cloudkv serve: " << server.status().ToString() << "\n";
      (void)(*db)->Close();
      return 1;
    }
    const uint64_t epoch = (*db)->GetStats().writer_epoch;
    if (effective.read_only) {
      log << "cloudkv serve: serving " << config.db_url << " read-only" << std::endl;
    } else {
      log << "cloudkv serve: serving " << config.db_url << " as writer (epoch " << epoch << ")"
          << std::endl;
    }
    http.Attach(server->get(), "serving");
    int sig = 0;
    WaitOutcome outcome = WaitForSignalOrFence(signals, server->get(), &sig);
    if (outcome == WaitOutcome::kFenced) {
      log << "cloudkv serve: FENCED: another writer opened " << config.db_url
          << "; this server (writer epoch " << epoch
          << ") can no longer write. Unacknowledged writes are lost; acknowledged ones are "
             "durable."
          << (config.on_fenced == OnFenced::kExit ? " Exiting (code 3)."
                                                  : " Reopening read-only (--on-fenced=read-only).")
          << std::endl;
      http.Attach(nullptr, "fenced: another writer owns the database");
      (*server)->Stop();
      (void)(*db)->Close();  // Fenced, expectedly
      if (config.on_fenced == OnFenced::kExit) return kExitFenced;
      effective.read_only = true;
      effective.fenced_read_only = true;
      continue;
    }
    if (shutdown_requested.load()) {
      log << "cloudkv serve: SHUTDOWN from a client, shutting down" << std::endl;
    } else {
      log << "cloudkv serve: signal " << sig << ", shutting down" << std::endl;
    }
    http.Attach(nullptr, "shutting down");
    (*server)->Stop();
    Status closed = (*db)->Close();
    if (!closed.ok()) {
      log << "cloudkv serve: close: " << closed.ToString() << "\n";
      return 1;
    }
    log << "cloudkv serve: stopped" << std::endl;
    return 0;
  }
}

}  // namespace cloudkv::server
