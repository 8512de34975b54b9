// SPDX-License-Identifier: Apache-2.0
// Server: the RESP (Redis protocol) front end of a cloudkv database, `cloudkv serve`.
//
// Listens on config.bind:config.port with a few io threads (one io_context each; connections
// are spread round-robin), and optionally serves Prometheus metrics on config.metrics_port.
// Uses only the public cloudkv API.
//
// Thread-safety: Start/Stop from one controlling thread.
#ifndef CLOUDKV_SERVER_SERVER_H_
#define CLOUDKV_SERVER_SERVER_H_

#include <iosfwd>
#include <memory>
#include <string>

#include "cloudkv/db.h"
#include "cloudkv/status.h"
#include "server/commands.h"

namespace cloudkv::server {

class Server {
 public:
  // Starts serving an open database (not owned; it must outlive the server). Errors:
  // InvalidArgument (a bind address other than loopback without requirepass, bad address),
  // IOError (cannot listen).
  static Result<std::unique_ptr<Server>> Start(DB* db, const ServerConfig& config);
  virtual ~Server() = default;

  // The port actually bound (useful with port 0).
  virtual int port() const = 0;
  // A newer writer fenced this server's database (seen by a write or by the watchdog, which
  // reads the database every config.watchdog_interval_ms).
  virtual bool fenced() const = 0;
  // What /readyz answers: the database is open and, for a writer, its epoch confirmed by the
  // last watchdog read. False (with the reason in *why) otherwise, and after a fence.
  virtual bool ready(std::string* why) const = 0;
  // The Prometheus text of the server, engine and object-store figures.
  virtual std::string RenderMetrics() = 0;
  // Graceful stop: stops accepting, finishes commands in flight until their writes are
  // durable, delivers their replies (bounded wait), closes every connection, joins threads.
  virtual void Stop() = 0;
};

// The exit code of `cloudkv serve` when its writer was fenced (OnFenced::kExit).
inline constexpr int kExitFenced = 3;

// `cloudkv serve`: binds the RESP port (and the metrics port) first, then opens the database
// at config.db_url, serves until SIGINT/SIGTERM, then stops gracefully and closes the database.
// Prints "listening on HOST:PORT" to `log` once the ports are bound. When a newer writer fences
// the database it logs that at once, then exits with kExitFenced or (OnFenced::kReadOnly)
// reopens the database read-only and serves reads on the same ports. The metrics port answers
// /metrics, /healthz (200 while the process runs) and /readyz (200 when the database is open
// and the writer's epoch confirmed, else 503). Returns the process exit code: 0 after a signal
// or SHUTDOWN, 1 when it cannot listen or open the database, kExitFenced.
int RunServe(const ServerConfig& config, size_t max_value_bytes, std::ostream& log);

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_SERVER_H_
