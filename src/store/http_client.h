// SPDX-License-Identifier: Apache-2.0
// HttpClient: blocking HTTP/1.1 requests over libcurl with a bounded pool of reusable
// connections, for the S3 backend.
//
// Each pooled curl easy handle keeps its own keep-alive connection(s), so a request that finds
// an idle handle reuses a warm connection. At most `max_connections` handles exist; a request
// that finds none idle waits (up to the request timeout) for one to be returned. The pool's
// mutex is held only to take or return a handle, never during a transfer, so requests from
// many threads run in parallel.
//
// Thread-safety: Send may be called concurrently from any number of threads.
#ifndef CLOUDKV_STORE_HTTP_CLIENT_H_
#define CLOUDKV_STORE_HTTP_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudkv/status.h"

namespace cloudkv {

struct HttpClientOptions {
  size_t max_connections = 64;          // pooled handles (one connection each)
  uint64_t connect_timeout_ms = 5000;   // TCP + TLS handshake
  uint64_t request_timeout_ms = 60000;  // whole request, including the body transfer
  bool verify_tls = true;               // verify the peer certificate and host name
  std::string ca_file;                  // extra CA bundle (empty: the system's)
};

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;     // absolute http:// or https:// URL, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // borrowed for the duration of Send
  // Responses with a longer body fail with IOError instead of filling memory.
  uint64_t max_response_bytes = 64 << 20;
  // Overrides the client's request timeout when non-zero (large transfers).
  uint64_t timeout_ms = 0;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;

  // The header value or "" when absent.
  std::string Header(const std::string& lower_name) const;
};

// Transport errors of requests that never reached the server (refused connection, unknown
// host) carry this text, so callers know the request had no effect.
inline constexpr std::string_view kHttpConnectFailed = "connection failed, request not sent";

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the whole response. Any HTTP status is a successful Result;
  // transport failures are errors: TimedOut (retryable) when the connection or the request
  // timed out; IOError(retryable) for refused/reset connections and truncated bodies;
  // IOError(not retryable) for TLS verification failures, bad URLs and over-long bodies.
  // Messages name the method and URL (never headers, which may hold credentials).
  Result<HttpResponse> Send(const HttpRequest& request);

  const HttpClientOptions& options() const { return options_; }

 private:
  class Pool;
  HttpClientOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_HTTP_CLIENT_H_
