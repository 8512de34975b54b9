// SPDX-License-Identifier: Apache-2.0
// S3Client: the request layer of the S3 backend. Builds the URL for an object or bucket
// request (path-style or virtual-hosted), signs it with SigV4, sends it over the pooled
// HttpClient, retries what is safe to retry with exponential backoff and full jitter, and turns
// S3 error responses into Status values with clear messages.
//
// Retried (up to S3Config::max_attempts tries in all): transport errors marked retryable
// (refused/reset connections, truncated bodies, timeouts), HTTP 500/502/503/504, 429, 408,
// 409 ConditionalRequestConflict, and 400 RequestTimeout. Everything else is returned at once.
//
// Thread-safety: all methods may be called concurrently.
#ifndef CLOUDKV_STORE_S3_CLIENT_H_
#define CLOUDKV_STORE_S3_CLIENT_H_

#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudkv/status.h"
#include "store/http_client.h"
#include "store/s3_config.h"

namespace cloudkv {

struct S3Request {
  std::string method;
  std::string key;  // full object key including the store prefix; "" for a bucket request
  std::vector<std::pair<std::string, std::string>> query;    // unencoded
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, all signed
  std::string_view body;
  std::string payload_sha256;  // hex; computed from body when empty
  uint64_t max_response_bytes = 16 << 20;
  uint64_t timeout_ms = 0;  // 0: the configured request timeout
};

struct S3Response {
  HttpResponse http;
  int attempts = 0;
  // True when an earlier attempt may have reached the server and taken effect (its response
  // was lost or was a 5xx), so a conditional failure now may be our own earlier success.
  bool ambiguous = false;
};

class S3Client {
 public:
  explicit S3Client(S3Config config);

  // Sends `request` with retries. Returns the last HTTP response, whatever its status, or the
  // last transport error once the attempts are used up.
  Result<S3Response> Send(const S3Request& request);

  // The Status for a non-2xx response: PreconditionFailed (412), NotFound (404 NoSuchKey),
  // InvalidArgument (416), NotSupported (501), IOError naming the access key id (403), the
  // bucket (NoSuchBucket), or the S3 error code otherwise. `what` names the operation.
  Status ErrorStatus(const HttpResponse& response, std::string_view what) const;

  // The quirks in force: the configured ones, or Ceph's once detected.
  S3Quirks quirks() const;
  // Switches to Ceph's quirks (auto mode only); returns true if that changed anything.
  bool AdoptCephQuirks(std::string_view reason);

  // An ETag as sent in If-Match, for `etag` as returned by this store (without quotes).
  std::string IfMatchValue(std::string_view etag) const;

  const S3Config& config() const { return config_; }
  // "s3://bucket/key" for messages.
  std::string Name(std::string_view full_key) const;

 private:
  Result<HttpResponse> SendOnce(const S3Request& request, const std::string& payload_sha256);
  void DetectQuirks(const HttpResponse& response);
  void Backoff(int attempt) const;

  const S3Config config_;
  std::string scheme_;  // "http" / "https"
  std::string host_;    // host[:port] of the endpoint
  HttpClient http_;
  std::atomic<bool> ceph_detected_{false};
};

// "abc" for "\"abc\"" (and "abc"): ETags are handled without their quotes.
std::string NormalizeEtag(std::string_view etag);
// Text from a server made safe for Status messages and logs: control characters (and '\\')
// become \xNN.
std::string EscapeControlCharacters(std::string_view text);
// Whether an ETag (from a header or from XML, where entities can decode to CR/LF) is free of
// control characters, so it can go back into an If-Match header.
bool SafeEtag(std::string_view etag);

// Parses "bytes a-b/total" strictly; false on any deviation.
bool ParseContentRange(std::string_view value, uint64_t* first, uint64_t* last, uint64_t* total);

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_S3_CLIENT_H_
