// SPDX-License-Identifier: Apache-2.0
// Configuration of the S3 backend: where the bucket is, how to authenticate, the quirks of the
// server, and the limits (timeouts, retries, multipart sizes). See docs/object-stores-s3.md.
//
// Sources, highest precedence first:
//   1. URL query parameters (s3://bucket/prefix?endpoint=...&region=...&path_style=true)
//   2. environment: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION,
//      AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), AWS_PROFILE
//   3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) and
//      config file (AWS_CONFIG_FILE, else ~/.aws/config, for the region) for the profile
//   4. defaults: region us-east-1, endpoint https://s3.<region>.amazonaws.com
// Secrets are never accepted in URLs (URLs end up in logs, shell history and process lists):
// a parameter such as secret_access_key is InvalidArgument.
//
// Thread-safety: values.
#ifndef CLOUDKV_STORE_S3_CONFIG_H_
#define CLOUDKV_STORE_S3_CONFIG_H_

#include <functional>
#include <map>
#include <string>

#include "cloudkv/status.h"
#include "store/http_client.h"
#include "store/sigv4.h"
#include "store/url.h"

namespace cloudkv {

// Behaviour of S3-compatible servers that differs from AWS S3 in ways the backend must work
// around. One value per store, chosen by `?quirks=` (auto, aws, ceph) or detected.
struct S3Quirks {
  std::string name = "aws";
  // If-Match only matches the ETag without its quotes (Ceph RGW before 19; ceph PR 63348).
  bool if_match_bare_etag = false;
  // If-Match with a bare ETag matches any value that merely STARTS with the object's ETag
  // (Ceph RGW 16: "<etag>x" matches). Values that are not plausible ETags are therefore
  // refused locally (PreconditionFailed) instead of being sent.
  bool if_match_prefix_compare = false;
  // CompleteMultipartUpload answers with an empty <ETag>; the ETag is read with a HEAD.
  bool multipart_complete_without_etag = false;
  // Only path-style addressing works (no wildcard DNS for virtual-hosted buckets).
  bool path_style_only = false;
  // Notes that need no switch, because the backend handles both behaviours everywhere:
  // If-Match on a missing key is 412 on Ceph, 404 on AWS (both PreconditionFailed), and
  // conditions on CompleteMultipartUpload are ignored by Ceph (conditional puts are never
  // multipart).

  static S3Quirks Aws() { return S3Quirks(); }
  static S3Quirks Ceph() {
    S3Quirks q;
    q.name = "ceph";
    q.if_match_bare_etag = true;
    q.if_match_prefix_compare = true;
    q.multipart_complete_without_etag = true;
    q.path_style_only = true;
    return q;
  }
};

struct S3Config {
  std::string bucket;
  std::string prefix;    // "" or ends with '/'
  std::string endpoint;  // scheme://host[:port], no path, no trailing '/'
  std::string region = "us-east-1";
  bool path_style = false;
  AwsCredentials credentials;
  std::string credentials_source;  // for messages, e.g. "environment (AWS_ACCESS_KEY_ID)"

  S3Quirks quirks;
  bool detect_quirks = true;  // ?quirks=auto (default): switch to Ceph's when it is detected

  // Whether the server enforces If-None-Match/If-Match on PUT (capabilities() reports it).
  // Set false for servers that ignore them (s3rver, some gateways): the engine then refuses
  // to run a writer instead of running without fencing.
  bool conditional_writes = true;

  HttpClientOptions http;
  // Transfers of n bytes get request_timeout_ms + n / min_transfer_bytes_per_ms: a slow but
  // moving large transfer is not cut off by the timeout meant for small requests.
  uint64_t min_transfer_bytes_per_ms = 1000;  // 1 MB/s
  int max_attempts = 6;                       // tries per request, including the first
  uint64_t retry_base_delay_ms = 50;          // backoff: random in [0, min(max, base * 2^n)]
  uint64_t retry_max_delay_ms = 5000;
  uint64_t multipart_threshold_bytes = 64ull << 20;  // unconditional puts above use multipart
  uint64_t multipart_part_bytes = 16ull << 20;
  size_t multipart_parallelism = 4;               // parts in flight per upload
  uint64_t parallel_get_part_bytes = 8ull << 20;  // full gets above fetch ranges in parallel
  size_t parallel_get_parallelism = 8;
  uint64_t max_object_bytes = 5ull << 30;  // largest object Get reads into memory

  // "s3://bucket/prefix (endpoint http://..., region r)" for messages.
  std::string Describe() const;
};

// Looks up an environment variable; returns nullptr when unset. Injectable for tests.
using EnvLookup = std::function<const char*(const char*)>;
EnvLookup ProcessEnv();

// Builds the configuration for `url`, taking its options from (and erasing them from)
// `params`. Errors: InvalidArgument naming the bad option or the missing credentials.
Result<S3Config> ResolveS3Config(const StoreUrl& url, std::map<std::string, std::string>* params,
                                 const EnvLookup& env);

// Parses an INI-style AWS credentials/config file body; returns the keys of section `section`
// (lower-cased names), or an empty map when the section is missing.
std::map<std::string, std::string> ParseAwsIniSection(std::string_view text,
                                                      std::string_view section);

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_S3_CONFIG_H_
