// SPDX-License-Identifier: Apache-2.0
#include "store/s3_client.h"

#include <charconv>
#include <chrono>
#include <thread>

#include "store/s3_xml.h"
#include "store/sigv4.h"
#include "util/logging.h"
#include "util/random.h"

namespace cloudkv {
namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct ErrorInfo {
  std::string code;
  std::string message;
};

ErrorInfo ParseError(const HttpResponse& r) {
  ErrorInfo info;
  if (r.body.empty()) return info;
  auto xml = ParseXml(r.body);
  if (!xml.ok() || xml->name != "Error") return info;
  // The server's text goes into Status messages and logs: entities such as "&#13;&#10;" decode
  // to CR/LF, which could forge log lines.
  info.code = EscapeControlCharacters(xml->ChildText("Code").substr(0, 200));
  info.message = EscapeControlCharacters(xml->ChildText("Message").substr(0, 500));
  return info;
}

bool RetryableResponse(const HttpResponse& r) {
  long s = r.status;
  if (s == 500 || s == 502 || s == 503 || s == 504 || s == 429 || s == 408) return true;
  if (s == 409 || s == 400) {
    std::string code = ParseError(r).code;
    return code == "ConditionalRequestConflict" || code == "RequestTimeout" ||
           code == "OperationAborted" || code == "SlowDown";
  }
  return false;
}

// Ceph RGW names itself in "Server" on some frontends; its beast frontend sends none, but its
// request ids ("tx000...-<hex>-<id>-<zone>") are unlike AWS's (16 upper-case hex digits).
bool LooksLikeCeph(const HttpResponse& r) {
  if (r.Header("server").find("Ceph") != std::string::npos) return true;
  std::string id = r.Header("x-amz-request-id");
  return id.size() > 20 && id.compare(0, 3, "tx0") == 0 &&
         std::count(id.begin(), id.end(), '-') >= 2;
}

}  // namespace

std::string EscapeControlCharacters(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool SafeEtag(std::string_view etag) {
  for (char c : etag) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::string NormalizeEtag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

bool ParseContentRange(std::string_view v, uint64_t* first, uint64_t* last, uint64_t* total) {
  if (v.substr(0, 6) != "bytes ") return false;
  v.remove_prefix(6);
  auto number = [&](char stop, uint64_t* out) {
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    if (ec != std::errc() || ptr == v.data()) return false;
    v.remove_prefix(static_cast<size_t>(ptr - v.data()));
    if (stop == 0) return v.empty();
    if (v.empty() || v.front() != stop) return false;
    v.remove_prefix(1);
    return true;
  };
  return number('-', first) && number('/', last) && number(0, total) && *first <= *last &&
         *last < *total;
}

S3Client::S3Client(S3Config config) : config_(std::move(config)), http_(config_.http) {
  size_t sep = config_.endpoint.find("://");
  scheme_ = config_.endpoint.substr(0, sep);
  host_ = config_.endpoint.substr(sep + 3);
}

S3Quirks S3Client::quirks() const {
  return ceph_detected_.load(std::memory_order_relaxed) ? S3Quirks::Ceph() : config_.quirks;
}

bool S3Client::AdoptCephQuirks(std::string_view reason) {
  if (!config_.detect_quirks || ceph_detected_.exchange(true)) return false;
  LOG_INFO("{}: using Ceph RGW quirks ({})", config_.Describe(), reason);
  return true;
}

void S3Client::DetectQuirks(const HttpResponse& response) {
  if (config_.detect_quirks && !ceph_detected_.load(std::memory_order_relaxed) &&
      LooksLikeCeph(response)) {
    AdoptCephQuirks("detected from a response");
  }
}

std::string S3Client::IfMatchValue(std::string_view etag) const {
  std::string bare = NormalizeEtag(etag);
  return quirks().if_match_bare_etag ? bare : "\"" + bare + "\"";
}

std::string S3Client::Name(std::string_view full_key) const {
  return "s3://" + config_.bucket + "/" + std::string(full_key);
}

Result<HttpResponse> S3Client::SendOnce(const S3Request& request,
                                        const std::string& payload_sha256) {
  // Path-style addressing unless the server handles virtual hosts (and the config asks).
  bool path_style = config_.path_style || quirks().path_style_only;
  std::string host = path_style ? host_ : config_.bucket + "." + host_;
  std::string path = path_style ? "/" + config_.bucket : "";
  if (!request.key.empty()) {
    path += "/" + UriEncode(request.key, /*keep_slash=*/true);
  } else if (path.empty()) {
    path = "/";
  }
  std::string query = CanonicalQueryString(request.query);

  SigV4Request sig;
  sig.method = request.method;
  sig.canonical_uri = path;
  sig.query = request.query;
  sig.payload_hash = payload_sha256;
  std::string amz_date = AmzDateNow();
  sig.headers = request.headers;
  sig.headers.emplace_back("host", host);
  sig.headers.emplace_back("x-amz-date", amz_date);
  sig.headers.emplace_back("x-amz-content-sha256", payload_sha256);
  if (!config_.credentials.session_token.empty()) {
    sig.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  }
  SigV4Result signature = SignV4(sig, config_.credentials, config_.region, "s3", amz_date);

  HttpRequest http;
  http.method = request.method;
  http.url = scheme_ + "://" + host + path + (query.empty() ? "" : "?" + query);
  http.headers = std::move(sig.headers);
  http.headers.emplace_back("Authorization", signature.authorization);
  http.body = request.body;
  http.max_response_bytes = request.max_response_bytes;
  http.timeout_ms = request.timeout_ms;
  return http_.Send(http);
}

void S3Client::Backoff(int attempt) const {
  thread_local Random rnd(RandomSeed());
  uint64_t cap = config_.retry_base_delay_ms << std::min(attempt, 20);
  cap = std::min(cap, config_.retry_max_delay_ms);
  if (cap == 0) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(rnd.Uniform(cap + 1)));
}

Result<S3Response> S3Client::Send(const S3Request& request) {
  std::string payload_sha256 = request.payload_sha256;
  if (payload_sha256.empty()) {
    payload_sha256 = request.body.empty() ? std::string(kEmptySha256) : Sha256Hex(request.body);
  }
  S3Response out;
  Status last_error;
  for (int attempt = 1; attempt <= config_.max_attempts; attempt++) {
    if (attempt > 1) Backoff(attempt - 2);
    out.attempts = attempt;
    Result<HttpResponse> r = SendOnce(request, payload_sha256);
    if (!r.ok()) {
      last_error = r.status();
      if (!last_error.retryable()) return last_error;
      // A refused connection never reached the server; anything else might have.
      if (last_error.message().find(kHttpConnectFailed) == std::string::npos) {
        out.ambiguous = true;
      }
      LOG_DEBUG("{} {}: attempt {} failed: {}", request.method, Name(request.key), attempt,
                last_error.ToString());
      continue;
    }
    DetectQuirks(*r);
    if (RetryableResponse(*r) && attempt < config_.max_attempts) {
      LOG_DEBUG("{} {}: attempt {} got HTTP {} {}", request.method, Name(request.key), attempt,
                r->status, ParseError(*r).code);
      if (r->status >= 500) out.ambiguous = true;
      continue;
    }
    out.http = std::move(r).value();
    return out;
  }
  std::string msg = last_error.message() + " (gave up after " +
                    std::to_string(config_.max_attempts) + " attempts)";
  if (last_error.IsTimedOut()) return Status::TimedOut(msg);
  return Status::IOError(msg, /*retryable=*/true);
}

Status S3Client::ErrorStatus(const HttpResponse& r, std::string_view what) const {
  ErrorInfo e = ParseError(r);
  std::string prefix = std::string(what) + ": ";
  std::string detail = "HTTP " + std::to_string(r.status) + (e.code.empty() ? "" : " " + e.code) +
                       (e.message.empty() ? "" : ": " + e.message);
  if (e.code == "NoSuchBucket") {
    return Status::IOError(prefix + "bucket '" + config_.bucket + "' does not exist at " +
                           config_.endpoint + " (NoSuchBucket)");
  }
  switch (r.status) {
    case 412:
      return Status::PreconditionFailed(prefix + "precondition failed (" + detail + ")");
    case 404:
      return Status::NotFound(prefix + "not found (" + detail + ")");
    case 416:
      return Status::InvalidArgument(prefix + "range not satisfiable (" + detail + ")");
    case 501:
      return Status::NotSupported(prefix + "the server does not implement this (" + detail + ")");
    case 401:
    case 403:
      return Status::IOError(prefix + "access denied for access key id '" +
                             config_.credentials.access_key_id + "' from " +
                             config_.credentials_source + " (" + detail +
                             "); check the key, the secret and the bucket policy");
    default:
      return Status::IOError(prefix + detail, RetryableResponse(r));
  }
}

}  // namespace cloudkv
