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
  virtual int metrics_port() const = 0;
  // Graceful stop: stops accepting, finishes commands in flight until their writes are
  // durable, delivers their replies (bounded wait), closes every connection, joins threads.
  virtual void Stop() = 0;
};

// `cloudkv serve`: opens the database at config.db_url, serves until SIGINT/SIGTERM, then stops
// gracefully and closes the database. Prints "listening on HOST:PORT" to `log`. Returns the
// process exit code.
int RunServe(const ServerConfig& config, size_t max_value_bytes, std::ostream& log);

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_SERVER_H_
