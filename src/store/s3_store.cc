// SPDX-License-Identifier: Apache-2.0
#include "store/s3_store.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <charconv>
#include <cstring>
#include <thread>

#include "store/s3_client.h"
#include "store/s3_xml.h"
#include "store/sigv4.h"
#include "store/stores.h"
#include "util/logging.h"
#include "util/mutex.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

constexpr size_t kDeleteBatch = 1000;  // S3's limit per DeleteObjects request
constexpr size_t kMaxListPages = 100000;
constexpr int kMaxGetRestarts = 3;
constexpr uint64_t kGetProbeBytes = 1 << 20;  // a whole-object get restarts if the object changes

bool ParseUint(std::string_view s, uint64_t* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

// The ETags S3-compatible servers produce: an MD5 in hex, with "-<parts>" after a multipart
// upload.
bool PlausibleEtag(std::string_view etag) {
  std::string bare = NormalizeEtag(etag);
  size_t dash = bare.find('-');
  std::string_view md5 = std::string_view(bare).substr(0, dash);
  if (md5.size() != 32) return false;
  for (char c : md5) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  if (dash == std::string::npos) return true;
  uint64_t parts = 0;
  return ParseUint(std::string_view(bare).substr(dash + 1), &parts) && parts >= 1 && parts <= 10000;
}

class S3Store final : public ObjectStore {
 public:
  explicit S3Store(S3Config config) : client_(std::move(config)) {}

  Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::string> Put(std::string_view key, std::string_view data,
                          const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  Status DeleteMany(std::span<const std::string> keys) override;
  Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                          size_t limit) override;
  StoreCapabilities capabilities() const override {
    StoreCapabilities c;
    c.atomic_if_absent = c.atomic_if_match = client_.config().conditional_writes;
    c.remote = true;
    c.latency_class = StoreLatencyClass::kRemote;
    return c;
  }
  std::string Describe() const override { return client_.config().Describe(); }

 private:
  const S3Config& config() const { return client_.config(); }
  uint64_t TimeoutFor(uint64_t bytes) const {
    uint64_t ms = config().http.request_timeout_ms + bytes / config().min_transfer_bytes_per_ms;
    return std::min<uint64_t>(ms, 24 * 3600 * 1000);
  }
  std::string FullKey(std::string_view key) const { return config().prefix + std::string(key); }

  // One ranged GET of [offset, offset+length) of `full` (length > 0), checked against its
  // Content-Range. Sets *object_size and *etag from the response.
  Result<std::string> FetchRange(const std::string& full, uint64_t offset, uint64_t length,
                                 uint64_t* object_size, std::string* etag);
  Result<GetResult> GetWhole(const std::string& full);
  Result<std::string> PutSingle(const std::string& full, std::string_view data,
                                const PutOptions& options);
  Result<std::string> MultipartUpload(const std::string& full, std::string_view data);
  Result<std::string> CompleteUpload(const std::string& full, const std::string& upload_id,
                                     const std::vector<std::string>& etags, uint64_t size);
  void AbortUpload(const std::string& full, const std::string& upload_id);
  Status DeleteBatch(std::span<const std::string> full_keys);

  S3Client client_;
};

Result<std::string> S3Store::FetchRange(const std::string& full, uint64_t offset, uint64_t length,
                                        uint64_t* object_size, std::string* etag) {
  assert(length > 0);
  S3Request req;
  req.method = "GET";
  req.key = full;
  // A range longer than any object we would read means "to the end" (and cannot overflow).
  const bool to_end = length > config().max_object_bytes;
  req.headers.emplace_back("range", "bytes=" + std::to_string(offset) + "-" +
                                        (to_end ? "" : std::to_string(offset + length - 1)));
  const uint64_t expect = std::min(length, config().max_object_bytes);
  req.max_response_bytes = expect + (64 << 10);  // slack for an error document
  req.timeout_ms = TimeoutFor(expect);
  ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
  const std::string name = client_.Name(full);
  if (r.http.status == 416) {
    return Status::InvalidArgument("range starts at " + std::to_string(offset) +
                                   ", past the end of '" + name + "'");
  }
  if (r.http.status == 200) {
    // The server ignored Range and sent the whole object.
    std::string body = std::move(r.http.body);
    *object_size = body.size();
    *etag = NormalizeEtag(r.http.Header("etag"));
    if (offset >= body.size()) {
      return Status::InvalidArgument("range starts at " + std::to_string(offset) +
                                     ", past the end of '" + name + "'");
    }
    return body.substr(offset, length);
  }
  if (r.http.status != 206) return client_.ErrorStatus(r.http, "GET " + name);
  uint64_t first = 0, last = 0, total = 0;
  if (!ParseContentRange(r.http.Header("content-range"), &first, &last, &total)) {
    return Status::Corruption(name + ": ranged GET answered with a malformed Content-Range '" +
                              r.http.Header("content-range").substr(0, 100) + "'");
  }
  // The expected last byte: the range's, cut at the end of the object.
  uint64_t want_last =
      (to_end || length >= total - std::min(offset, total)) ? total - 1 : offset + length - 1;
  if (first != offset || last != want_last || r.http.body.size() != last - first + 1) {
    return Status::Corruption(name + ": ranged GET of bytes " + std::to_string(offset) + "+" +
                              std::to_string(length) + " returned " +
                              std::to_string(r.http.body.size()) + " bytes labelled '" +
                              r.http.Header("content-range").substr(0, 100) + "'");
  }
  *object_size = total;
  *etag = NormalizeEtag(r.http.Header("etag"));
  return std::move(r.http.body);
}

Result<GetResult> S3Store::GetWhole(const std::string& full) {
  const std::string name = client_.Name(full);
  const uint64_t part = config().parallel_get_part_bytes;
  // The first request reads up to kGetProbeBytes and learns the size: small objects (most
  // whole-object reads) take one request; the rest of a large one is split evenly into ranges
  // fetched in parallel.
  const uint64_t probe = std::min(part, kGetProbeBytes);
  for (int restart = 0; restart < kMaxGetRestarts; restart++) {
    GetResult out;
    uint64_t size = 0;
    Result<std::string> head = FetchRange(full, 0, probe, &size, &out.etag);
    if (!head.ok() && head.status().IsInvalidArgument()) {
      // 416 for the first byte: the object is empty. Read it plainly to get its etag.
      S3Request req;
      req.method = "GET";
      req.key = full;
      req.max_response_bytes = 64 << 10;
      ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
      if (r.http.status != 200) return client_.ErrorStatus(r.http, "GET " + name);
      out.data = std::move(r.http.body);
      out.etag = NormalizeEtag(r.http.Header("etag"));
      out.object_size = out.data.size();
      return out;
    }
    if (!head.ok()) return head.status();
    if (size > config().max_object_bytes) {
      return Status::IOError(name + ": object of " + std::to_string(size) +
                             " bytes is larger than max_object_bytes");
    }
    out.object_size = size;
    if (head->size() == size) {
      out.data = std::move(head).value();
      return out;
    }
    // The rest in parallel ranges, each checked to come from the same object version.
    out.data.resize(size);
    std::memcpy(out.data.data(), head->data(), head->size());
    const uint64_t rest = size - head->size();
    const uint64_t parts = std::max(
        (rest + part - 1) / part, std::min<uint64_t>(config().parallel_get_parallelism,
                                                     (rest + kGetProbeBytes - 1) / kGetProbeBytes));
    const uint64_t range_bytes = (rest + parts - 1) / parts;
    std::atomic<uint64_t> next{0};
    std::atomic<bool> changed{false};
    Status first_error;
    Mutex mu;
    auto worker = [&] {
      for (uint64_t i; (i = next.fetch_add(1)) < parts;) {
        uint64_t offset = head->size() + i * range_bytes;
        if (offset >= size) continue;
        uint64_t length = std::min(range_bytes, size - offset);
        uint64_t got_size = 0;
        std::string got_etag;
        Result<std::string> r = FetchRange(full, offset, length, &got_size, &got_etag);
        Status s = r.status();
        if (s.ok() && (got_size != size || got_etag != out.etag)) changed = true;
        if (s.ok() && r->size() == length && !changed) {
          std::memcpy(out.data.data() + offset, r->data(), length);
          continue;
        }
        MutexLock lock(&mu);
        if (first_error.ok() && !s.ok()) first_error = s;
        next = parts;  // stop the others
      }
    };
    size_t threads = std::min<uint64_t>(config().parallel_get_parallelism, parts);
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; t++) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (!first_error.ok()) return first_error;
    if (!changed) return out;
    LOG_INFO("{}: object changed during a parallel get; reading it again", name);
  }
  return Status::IOError(name + ": object kept changing while it was read", /*retryable=*/true);
}

Result<GetResult> S3Store::Get(std::string_view key, std::optional<ByteRange> range) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  const std::string full = FullKey(key);
  if (!range) return GetWhole(full);
  if (range->length == 0) {
    ASSIGN_OR_RETURN(ObjectInfo info, Head(key));
    return GetResult{"", info.etag, info.size};
  }
  GetResult out;
  if (range->offset > config().max_object_bytes) {
    return Status::InvalidArgument("range starts at " + std::to_string(range->offset) +
                                   ", past the end of '" + client_.Name(full) +
                                   "' (or beyond max_object_bytes)");
  }
  uint64_t length = std::min<uint64_t>(range->length, UINT64_MAX - range->offset);
  ASSIGN_OR_RETURN(out.data, FetchRange(full, range->offset, length, &out.object_size, &out.etag));
  return out;
}

Result<ObjectInfo> S3Store::Head(std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  const std::string full = FullKey(key);
  S3Request req;
  req.method = "HEAD";
  req.key = full;
  ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
  const std::string name = client_.Name(full);
  if (r.http.status == 404) return Status::NotFound(name + ": not found");
  if (r.http.status != 200) return client_.ErrorStatus(r.http, "HEAD " + name);
  ObjectInfo info;
  info.key = std::string(key);
  if (!ParseUint(r.http.Header("content-length"), &info.size)) {
    return Status::Corruption(name + ": HEAD answered without a valid Content-Length");
  }
  info.etag = NormalizeEtag(r.http.Header("etag"));
  return info;
}

Result<std::string> S3Store::Put(std::string_view key, std::string_view data,
                                 const PutOptions& options) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  const std::string full = FullKey(key);
  if (options.mode == PutMode::kIfMatch &&
      (options.if_match.empty() ||
       (client_.quirks().if_match_prefix_compare && !PlausibleEtag(options.if_match)))) {
    // No object has this etag; and a server that compares prefixes must not see it.
    return Status::PreconditionFailed("PUT " + client_.Name(full) + ": the object's etag is not '" +
                                      options.if_match + "'");
  }
  // Conditional puts are never multipart: Ceph ignores conditions on completion.
  if (options.mode == PutMode::kOverwrite && data.size() > config().multipart_threshold_bytes) {
    return MultipartUpload(full, data);
  }
  return PutSingle(full, data, options);
}

Result<std::string> S3Store::PutSingle(const std::string& full, std::string_view data,
                                       const PutOptions& options) {
  const std::string name = client_.Name(full);
  S3Request req;
  req.method = "PUT";
  req.key = full;
  req.body = data;
  req.payload_sha256 = Sha256Hex(data);  // signed: corrupted bytes are rejected by the server
  req.timeout_ms = TimeoutFor(data.size());
  bool retried_for_quirk = false;
  while (true) {
    req.headers.clear();
    if (options.mode == PutMode::kIfAbsent) req.headers.emplace_back("if-none-match", "*");
    if (options.mode == PutMode::kIfMatch) {
      req.headers.emplace_back("if-match", client_.IfMatchValue(options.if_match));
    }
    ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
    if (r.http.status == 200) {
      std::string etag = NormalizeEtag(r.http.Header("etag"));
      if (etag.empty()) {
        return Status::IOError("PUT " + name + ": the server returned no ETag");
      }
      return etag;
    }
    bool lost_race =
        r.http.status == 412 || (options.mode == PutMode::kIfMatch && r.http.status == 404 &&
                                 client_.ErrorStatus(r.http, "").IsNotFound());
    if (!lost_race || options.mode == PutMode::kOverwrite) {
      return client_.ErrorStatus(r.http, "PUT " + name);
    }
    if (r.ambiguous) {
      // An earlier attempt may have stored our bytes; then the condition now fails against
      // our own write. Identical bytes (they embed a nonce) prove it.
      Result<GetResult> now = GetWhole(full);
      if (now.ok() && now->data == data) {
        LOG_INFO("PUT {}: resolved an ambiguous conditional put as our own write", name);
        return now->etag;
      }
      if (!now.ok() && !now.status().IsNotFound()) {
        return now.status().WithContext("PUT " + name + ": resolving a lost response");
      }
    }
    if (options.mode == PutMode::kIfMatch && !retried_for_quirk &&
        !client_.quirks().if_match_bare_etag) {
      // Some servers (Ceph RGW < 19) reject a quoted ETag that does match. If the object's
      // etag is the one we sent, that is the quirk, not a lost race: adopt it and retry once.
      S3Request head;
      head.method = "HEAD";
      head.key = full;
      Result<S3Response> h = client_.Send(head);
      if (h.ok() && h->http.status == 200 &&
          NormalizeEtag(h->http.Header("etag")) == NormalizeEtag(options.if_match) &&
          client_.AdoptCephQuirks("If-Match rejected a matching quoted ETag")) {
        retried_for_quirk = true;
        continue;
      }
    }
    return Status::PreconditionFailed(
        "PUT " + name + ": " +
        (options.mode == PutMode::kIfAbsent
             ? "the object already exists"
             : "the object's etag is not '" + options.if_match + "' (or it does not exist)"));
  }
}

Result<std::string> S3Store::MultipartUpload(const std::string& full, std::string_view data) {
  const std::string name = client_.Name(full);
  // S3 allows at most 10000 parts.
  uint64_t part = std::max<uint64_t>(config().multipart_part_bytes, (data.size() + 9999) / 10000);
  const uint64_t parts = (data.size() + part - 1) / part;
  S3Request create;
  create.method = "POST";
  create.key = full;
  create.query = {{"uploads", ""}};
  ASSIGN_OR_RETURN(S3Response cr, client_.Send(create));
  if (cr.http.status != 200) return client_.ErrorStatus(cr.http, "CreateMultipartUpload " + name);
  auto xml = ParseXml(cr.http.body);
  std::string upload_id = xml.ok() ? xml->ChildText("UploadId") : "";
  if (upload_id.empty()) {
    return Status::IOError("CreateMultipartUpload " + name + ": no UploadId in the response");
  }

  std::vector<std::string> etags(parts);
  std::atomic<uint64_t> next{0};
  Status first_error;
  Mutex mu;
  auto worker = [&] {
    for (uint64_t i; (i = next.fetch_add(1)) < parts;) {
      std::string_view body = data.substr(i * part, part);
      S3Request req;
      req.method = "PUT";
      req.key = full;
      req.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}};
      req.body = body;
      req.timeout_ms = TimeoutFor(body.size());
      Result<S3Response> r = client_.Send(req);
      Status s = r.status();
      if (s.ok() && r->http.status != 200) {
        s = client_.ErrorStatus(r->http, "UploadPart " + std::to_string(i + 1) + " of " + name);
      }
      if (s.ok()) {
        etags[i] = r->http.Header("etag");
        if (!etags[i].empty()) continue;
        s = Status::IOError("UploadPart " + std::to_string(i + 1) + " of " + name + ": no ETag");
      }
      MutexLock lock(&mu);
      if (first_error.ok()) first_error = s;
      next = parts;
    }
  };
  size_t threads = std::min<uint64_t>(config().multipart_parallelism, parts);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; t++) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  Result<std::string> etag = first_error.ok() ? CompleteUpload(full, upload_id, etags, data.size())
                                              : Result<std::string>(first_error);
  if (!etag.ok()) AbortUpload(full, upload_id);
  return etag;
}

Result<std::string> S3Store::CompleteUpload(const std::string& full, const std::string& upload_id,
                                            const std::vector<std::string>& etags, uint64_t size) {
  const std::string what = "CompleteMultipartUpload " + client_.Name(full);
  std::string body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); i++) {
    body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
            XmlEscape(etags[i]) + "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  S3Request req;
  req.method = "POST";
  req.key = full;
  req.query = {{"uploadId", upload_id}};
  req.headers = {{"content-type", "application/xml"}};
  req.body = body;
  // Completion of a large upload can take a while on the server side.
  req.timeout_ms = TimeoutFor(size);
  ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
  std::string etag;
  if (r.http.status == 404 && r.ambiguous) {
    // NoSuchUpload after a lost response: the earlier attempt completed it. Check the size.
  } else if (r.http.status != 200) {
    return client_.ErrorStatus(r.http, what);
  } else {
    // S3 may answer 200 and put an <Error> in the body.
    auto xml = ParseXml(r.http.body);
    if (!xml.ok())
      return Status::IOError(what + ": unreadable response: " + xml.status().message());
    if (xml->name == "Error") return client_.ErrorStatus(r.http, what);
    etag = NormalizeEtag(xml->ChildText("ETag"));
    if (!SafeEtag(etag)) {
      return Status::IOError(what + ": the server returned an ETag with a control character: '" +
                             EscapeControlCharacters(etag) + "'");
    }
  }
  if (etag.empty() || client_.quirks().multipart_complete_without_etag) {
    S3Request head;
    head.method = "HEAD";
    head.key = full;
    ASSIGN_OR_RETURN(S3Response h, client_.Send(head));
    uint64_t got = 0;
    if (h.http.status != 200 || !ParseUint(h.http.Header("content-length"), &got) || got != size) {
      return Status::IOError(what + ": the completed object is missing or has the wrong size");
    }
    etag = NormalizeEtag(h.http.Header("etag"));
  }
  return etag;
}

void S3Store::AbortUpload(const std::string& full, const std::string& upload_id) {
  S3Request req;
  req.method = "DELETE";
  req.key = full;
  req.query = {{"uploadId", upload_id}};
  Result<S3Response> r = client_.Send(req);
  if (!r.ok() || (r->http.status != 204 && r->http.status != 200 && r->http.status != 404)) {
    LOG_WARN(
        "AbortMultipartUpload {} upload {} failed ({}); a bucket lifecycle rule for "
        "incomplete uploads will clean it up",
        client_.Name(full), upload_id,
        r.ok() ? "HTTP " + std::to_string(r->http.status) : r.status().ToString());
  }
}

Status S3Store::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  const std::string full = FullKey(key);
  S3Request req;
  req.method = "DELETE";
  req.key = full;
  ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
  if (r.http.status == 204 || r.http.status == 200) return Status::OK();
  Status s = client_.ErrorStatus(r.http, "DELETE " + client_.Name(full));
  return s.IsNotFound() ? Status::OK() : s;
}

Status S3Store::DeleteMany(std::span<const std::string> keys) {
  std::vector<std::string> full;
  full.reserve(keys.size());
  for (const auto& k : keys) {
    RETURN_IF_ERROR(ValidateObjectKey(k));
    full.push_back(FullKey(k));
  }
  for (size_t i = 0; i < full.size(); i += kDeleteBatch) {
    size_t n = std::min(kDeleteBatch, full.size() - i);
    RETURN_IF_ERROR(DeleteBatch(std::span<const std::string>(full).subspan(i, n)));
  }
  return Status::OK();
}

Status S3Store::DeleteBatch(std::span<const std::string> full_keys) {
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
  for (const auto& k : full_keys) body += "<Object><Key>" + XmlEscape(k) + "</Key></Object>";
  body += "</Delete>";
  S3Request req;
  req.method = "POST";
  req.query = {{"delete", ""}};
  req.headers = {{"content-md5", Md5Base64(body)}, {"content-type", "application/xml"}};
  req.body = body;
  const std::string what = "DeleteObjects of " + std::to_string(full_keys.size()) + " keys in " +
                           client_.Name(config().prefix);
  ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
  if (r.http.status != 200) return client_.ErrorStatus(r.http, what);
  auto xml = ParseXml(r.http.body);
  if (!xml.ok()) return Status::IOError(what + ": unreadable response: " + xml.status().message());
  if (xml->name == "Error") return client_.ErrorStatus(r.http, what);
  if (xml->name != "DeleteResult") {
    return Status::IOError(what + ": unexpected response <" + xml->name + ">");
  }
  std::string failures;
  int failed = 0;
  for (const auto& child : xml->children) {
    if (child.name != "Error" || child.ChildText("Code") == "NoSuchKey") continue;
    if (++failed <= 3) {
      failures += " '" + child.ChildText("Key") + "': " + child.ChildText("Code") + " " +
                  child.ChildText("Message") + ";";
    }
  }
  if (failed > 0) {
    return Status::IOError(what + ": " + std::to_string(failed) + " keys not deleted:" + failures,
                           /*retryable=*/true);
  }
  return Status::OK();
}

Result<ListResult> S3Store::List(std::string_view prefix, std::string_view start_after,
                                 size_t limit) {
  if (limit == 0) limit = 1000;
  const std::string full_prefix = FullKey(prefix);
  const std::string full_start = start_after.empty() ? "" : FullKey(start_after);
  const std::string what = "LIST " + client_.Name(full_prefix);
  ListResult out;
  std::string token;
  std::string last_key = full_start;
  for (size_t page = 0; page < kMaxListPages; page++) {
    S3Request req;
    req.method = "GET";
    req.query = {
        {"list-type", "2"},
        {"prefix", full_prefix},
        {"encoding-type", "url"},
        {"max-keys", std::to_string(std::min<size_t>(limit - out.objects.size() + 1, 1000))}};
    if (!token.empty()) {
      req.query.emplace_back("continuation-token", token);
    } else if (!full_start.empty()) {
      req.query.emplace_back("start-after", full_start);
    }
    ASSIGN_OR_RETURN(S3Response r, client_.Send(req));
    if (r.http.status != 200) return client_.ErrorStatus(r.http, what);
    auto xml = ParseXml(r.http.body);
    if (!xml.ok()) {
      return Status::IOError(what + ": unreadable response: " + xml.status().message(), true);
    }
    if (xml->name != "ListBucketResult") {
      return Status::IOError(what + ": unexpected response <" + xml->name + ">", true);
    }
    bool url_encoded = xml->ChildText("EncodingType") == "url";
    for (const auto& c : xml->children) {
      if (c.name != "Contents") continue;
      std::string key = c.ChildText("Key");
      std::string decoded;
      if (url_encoded && !PercentDecode(key, &decoded)) {
        return Status::IOError(what + ": malformed key encoding in the response");
      }
      if (url_encoded) key = std::move(decoded);
      ObjectInfo info;
      if (!ParseUint(c.ChildText("Size"), &info.size) || key.size() < full_prefix.size() ||
          key.compare(0, full_prefix.size(), full_prefix) != 0 || key <= last_key) {
        return Status::IOError(what + ": the server listed '" + key.substr(0, 200) +
                               "' out of order, outside the prefix or without a size");
      }
      last_key = key;
      if (out.objects.size() == limit) {
        out.truncated = true;
        return out;
      }
      info.key = key.substr(config().prefix.size());
      info.etag = NormalizeEtag(c.ChildText("ETag"));
      if (!SafeEtag(info.etag)) {
        return Status::IOError(what + ": object '" + EscapeControlCharacters(info.key) +
                               "' has an ETag with a control character: '" +
                               EscapeControlCharacters(info.etag) + "'");
      }
      out.objects.push_back(std::move(info));
    }
    if (xml->ChildText("IsTruncated") != "true") return out;
    token = xml->ChildText("NextContinuationToken");
    if (token.empty()) {
      return Status::IOError(what + ": truncated listing without a continuation token");
    }
  }
  return Status::IOError(what + ": more than " + std::to_string(kMaxListPages) + " pages");
}

}  // namespace

Result<std::shared_ptr<ObjectStore>> NewS3Store(const StoreUrl& url,
                                                std::map<std::string, std::string>* params) {
  ASSIGN_OR_RETURN(S3Config config, ResolveS3Config(url, params, ProcessEnv()));
  return NewS3StoreFromConfig(std::move(config));
}

std::shared_ptr<ObjectStore> NewS3StoreFromConfig(S3Config config) {
  return std::make_shared<S3Store>(std::move(config));
}

}  // namespace cloudkv
