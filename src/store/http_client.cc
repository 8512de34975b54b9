// SPDX-License-Identifier: Apache-2.0
#include "store/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>

#include "util/mutex.h"

namespace cloudkv {
namespace {

constexpr size_t kMaxHeaderBytes = 64 << 10;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State of one transfer, shared with curl's callbacks.
struct Transfer {
  std::string_view upload;
  size_t upload_pos = 0;
  HttpResponse* response = nullptr;
  uint64_t max_body = 0;
  bool body_too_long = false;
  size_t header_bytes = 0;
  bool headers_too_long = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->response->body.size() + n > t->max_body) {
    t->body_too_long = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  t->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > kMaxHeaderBytes) {
    t->headers_too_long = true;
    return 0;
  }
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response starts (e.g. after "100 Continue"): forget earlier headers.
    t->response->headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;
  std::string name(line.substr(0, colon));
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (name == "content-length") {
    // Reserve the body once instead of growing it through many reallocations.
    uint64_t length = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec == std::errc() && length <= t->max_body) t->response->body.reserve(length);
  }
  t->response->headers[name] = std::string(value);
  return n;
}

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = std::min(size * count, t->upload.size() - t->upload_pos);
  std::memcpy(buffer, t->upload.data() + t->upload_pos, n);
  t->upload_pos += n;
  return n;
}

// Lets curl rewind the body when it resends a request on a fresh connection.
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->upload.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->upload_pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

class HttpClient::Pool {
 public:
  explicit Pool(size_t capacity) : capacity_(capacity) {}
  ~Pool() {
    MutexLock lock(&mu_);
    assert(in_use_ == 0 && "HttpClient destroyed while requests are running");
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  // Takes an idle handle or creates one; waits while all `capacity_` handles are in use.
  // Returns nullptr if none became free before `deadline`.
  CURL* Acquire(std::chrono::steady_clock::time_point deadline) {
    MutexLock lock(&mu_);
    while (idle_.empty() && in_use_ >= capacity_) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return nullptr;
      cv_.WaitFor(&mu_, std::chrono::duration_cast<std::chrono::microseconds>(deadline - now));
    }
    in_use_++;
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
    CURL* h = curl_easy_init();
    if (h == nullptr) in_use_--;  // allocation failure: reported like a timeout
    return h;
  }

  // Returns a handle; a handle whose connection may be broken is discarded (`keep` false).
  void Release(CURL* handle, bool keep) {
    {
      MutexLock lock(&mu_);
      assert(in_use_ > 0);
      in_use_--;
      if (handle != nullptr && keep) {
        idle_.push_back(handle);
        handle = nullptr;
      }
    }
    cv_.Signal();
    if (handle != nullptr) curl_easy_cleanup(handle);  // outside the lock: may close a socket
  }

 private:
  const size_t capacity_;
  Mutex mu_;
  CondVar cv_{&mu_};
  std::vector<CURL*> idle_ GUARDED_BY(mu_);
  size_t in_use_ GUARDED_BY(mu_) = 0;
};

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)),
      pool_(std::make_unique<Pool>(std::max<size_t>(1, options_.max_connections))) {
  GlobalInit();
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  const uint64_t timeout_ms = request.timeout_ms ? request.timeout_ms : options_.request_timeout_ms;
  const std::string what = request.method + " " + request.url;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  CURL* h = pool_->Acquire(deadline);
  if (h == nullptr) {
    return Status::TimedOut(what + ": no free connection within " + std::to_string(timeout_ms) +
                            " ms (max_connections=" + std::to_string(options_.max_connections) +
                            ")");
  }
  curl_easy_reset(h);  // keeps the connection cache

  HttpResponse response;
  Transfer t;
  t.upload = request.body;
  t.response = &response;
  t.max_body = request.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  headers = curl_slist_append(headers, "Accept:");

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  // Send the path as signed: libcurl would otherwise squash "/./" and "/../", and a request
  // signed for one key (or bucket) could reach another.
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L << 10);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "DELETE" && request.body.empty()) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    // PUT and POST (and a DELETE with a body) send the body from memory with a known length.
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
    if (request.method != "PUT") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  CURLcode code = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  pool_->Release(h, code == CURLE_OK);

  if (code != CURLE_OK) {
    std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    std::string msg = what + ": " + detail;
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        return Status::TimedOut(msg + " (timeout " + std::to_string(timeout_ms) + " ms)");
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
        return Status::IOError(msg + " (" + std::string(kHttpConnectFailed) + ")",
                               /*retryable=*/true);
      case CURLE_WRITE_ERROR:
        if (t.body_too_long) {
          return Status::IOError(what + ": response body longer than the limit of " +
                                 std::to_string(request.max_response_bytes) + " bytes");
        }
        return Status::IOError(msg, /*retryable=*/true);
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_OUT_OF_MEMORY:
        return Status::IOError(msg);
      default:
        if (t.headers_too_long) return Status::IOError(what + ": response headers too long");
        return Status::IOError(msg, /*retryable=*/true);
    }
  }
  response.status = status;
  return response;
}

}  // namespace cloudkv
