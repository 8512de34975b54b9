// Server: acceptor, io threads, connection registry, metrics endpoint, graceful shutdown.
#include "server/server.h"

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "cloudkv/object_store.h"
#include "server/connection.h"

namespace cloudkv::server {
namespace {

bool IsLoopback(const std::string& host) {
  asio::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

class ServerImpl : public Server {
 public:
  ServerImpl(DB* db, const ServerConfig& config)
      : state_(db, config, db->GetStats().writer_epoch) {}

  ~ServerImpl() override { Stop(); }

  Status Listen() {
    const ServerConfig& config = state_.config;
    asio::error_code ec;
    std::string host = config.bind == "localhost" ? "127.0.0.1" : config.bind;
    auto address = asio::ip::make_address(host, ec);
    if (ec) return Status::InvalidArgument("bad bind address '" + config.bind + "'");
    int threads = std::max(1, config.threads);
    for (int i = 0; i < threads; i++) {
      ios_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*ios_.back()));
    }
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(*ios_[0]);
    asio::ip::tcp::endpoint endpoint(address, static_cast<uint16_t>(config.port));
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IOError("cannot listen on " + config.bind + ":" + std::to_string(config.port) +
                             ": " + ec.message());
    }
    port_ = acceptor_->local_endpoint().port();
    Accept();
    for (auto& io : ios_) {
      threads_.emplace_back([io = io.get()] { io->run(); });
    }
    if (config.metrics_port >= 0 && config.metrics_port != 0) {
      Status s = StartMetrics(host);
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  int port() const override { return port_; }
  int metrics_port() const override { return metrics_port_; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    stopping_.store(true);
    if (http_) {
      http_->stop();
      if (http_thread_.joinable()) http_thread_.join();
    }
    // 1. Stop accepting.
    asio::post(*ios_[0], [this] {
      asio::error_code ec;
      acceptor_->close(ec);
    });
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
            Accept();
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

  Status StartMetrics(const std::string& host) {
    http_ = std::make_unique<httplib::Server>();
    http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(RenderPrometheus(state_), "text/plain; version=0.0.4");
    });
    if (!http_->bind_to_port(host, state_.config.metrics_port)) {
      return Status::IOError("cannot listen for metrics on " + host + ":" +
                             std::to_string(state_.config.metrics_port));
    }
    metrics_port_ = state_.config.metrics_port;
    http_thread_ = std::thread([this] { http_->listen_after_bind(); });
    return Status::OK();
  }

  ServerState state_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  size_t next_io_ = 0;
  int port_ = 0;
  int metrics_port_ = 0;
  std::mutex mu_;
  std::unordered_map<uint64_t, Entry> connections_;
  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(DB* db, const ServerConfig& config) {
  if (!IsLoopback(config.bind == "localhost" ? "127.0.0.1" : config.bind) &&
      config.requirepass.empty()) {
    return Status::InvalidArgument("refusing to listen on non-loopback address '" + config.bind +
                                   "' without --requirepass");
  }
  auto server = std::make_unique<ServerImpl>(db, config);
  Status s = server->Listen();
  if (!s.ok()) return s;
  return std::unique_ptr<Server>(std::move(server));
}

int RunServe(const ServerConfig& config, size_t max_value_bytes, std::ostream& log) {
  // Signals are taken by sigwait on this thread; every thread started below inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Options options;
  options.read_only = config.read_only;
  options.compaction_filter = NewExpiryCompactionFilter();
  if (max_value_bytes != 0) options.max_value_bytes = max_value_bytes;
  if (config.block_cache_bytes != 0) options.block_cache_bytes = config.block_cache_bytes;
  auto db = DB::Open(config.db_url, options);
  if (!db.ok()) {
    log << "cloudkv serve: cannot open " << config.db_url << ": " << db.status().ToString() << "\n";
    return 1;
  }
  ServerConfig effective = config;
  // SHUTDOWN takes the signal path: the wait below sees a SIGTERM sent to this process. The
  // flag outlives every caller: the server's threads are joined before this function returns.
  std::atomic<bool> shutdown_requested{false};
  effective.shutdown = [&shutdown_requested] {
    shutdown_requested.store(true);
    ::kill(::getpid(), SIGTERM);
  };
  effective.engine_max_key_bytes = options.max_key_bytes;
  effective.engine_max_value_bytes = options.max_value_bytes;
  effective.engine_max_batch_bytes = options.max_batch_bytes;
  auto server = Server::Start(db->get(), effective);
  if (!server.ok()) {
    log << "cloudkv serve: " << server.status().ToString() << "\n";
    (void)(*db)->Close();
    return 1;
  }
  log << "cloudkv serve: listening on " << config.bind << ":" << (*server)->port();
  if ((*server)->metrics_port() != 0) log << ", metrics on port " << (*server)->metrics_port();
  log << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  if (shutdown_requested.load()) {
    log << "cloudkv serve: SHUTDOWN from a client, shutting down" << std::endl;
  } else {
    log << "cloudkv serve: signal " << sig << ", shutting down" << std::endl;
  }
  (*server)->Stop();
  Status closed = (*db)->Close();
  if (!closed.ok()) {
    log << "cloudkv serve: close: " << closed.ToString() << "\n";
    return 1;
  }
  log << "cloudkv serve: stopped" << std::endl;
  return 0;
}

}  // namespace cloudkv::server
