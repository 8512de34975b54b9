// SPDX-License-Identifier: Apache-2.0
// AWS Signature Version 4 for S3 requests, written from the AWS documentation
// ("Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)").
//
// A request is signed over its canonical form:
//   Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n
//   HashedPayload
// The string to sign is "AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256(canonical)>" with
// scope "<yyyymmdd>/<region>/<service>/aws4_request", and the key is derived by chained
// HMAC-SHA256 over "AWS4"+secret, date, region, service and "aws4_request".
//
// Thread-safety: pure functions.
#ifndef CLOUDKV_STORE_SIGV4_H_
#define CLOUDKV_STORE_SIGV4_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloudkv {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

// Hex of SHA-256 of `data` (lowercase). The hash of "" is e3b0c442...b855.
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);
// Base64 of the raw MD5 of `data` (for Content-MD5).
std::string Md5Base64(std::string_view data);
std::string HexEncode(std::string_view raw);

// Percent-encodes per SigV4 (RFC 3986 unreserved characters A-Z a-z 0-9 - . _ ~ are kept);
// '/' is kept when `keep_slash` (object key paths) and encoded as %2F otherwise.
std::string UriEncode(std::string_view in, bool keep_slash);

struct SigV4Request {
  std::string method;         // "GET"
  std::string canonical_uri;  // already URI-encoded path, e.g. "/bucket/a%20b"
  // Query parameters, NOT encoded; encoded and sorted by the signer.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign; names in any case. Must include host and x-amz-date (and
  // x-amz-content-sha256 for S3). Values are trimmed and inner spaces collapsed when signing.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex sha256 of the body, or "UNSIGNED-PAYLOAD"
};

// The pieces of a signature, exposed for tests against the published examples.
struct SigV4Result {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
  std::string signed_headers;  // "host;range;x-amz-content-sha256;x-amz-date"
};

// REQUIRES: amz_date is "YYYYMMDDTHHMMSSZ" (the x-amz-date value).
SigV4Result SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                   std::string_view region, std::string_view service, std::string_view amz_date);

// The canonical query string of `query` (sorted by encoded name, then value).
std::string CanonicalQueryString(std::vector<std::pair<std::string, std::string>> query);

// The current UTC time as an x-amz-date ("20130524T000000Z").
std::string AmzDateNow();

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_SIGV4_H_
