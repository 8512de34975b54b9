// SPDX-License-Identifier: Apache-2.0
#include "store/s3_config.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "util/logging.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Reads a small text file; false if it cannot be opened. Files over 1 MiB are refused.
bool ReadSmallFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return out->size() <= (1 << 20);
}

// "16m", "64MiB"-less simple sizes: digits with an optional k/m/g suffix (powers of 1024).
Result<uint64_t> ParseSize(const std::string& name, std::string value) {
  uint64_t mult = 1;
  if (!value.empty()) {
    char last = static_cast<char>(std::tolower(static_cast<unsigned char>(value.back())));
    if (last == 'k') mult = 1ull << 10;
    if (last == 'm') mult = 1ull << 20;
    if (last == 'g') mult = 1ull << 30;
    if (mult != 1) value.pop_back();
  }
  ASSIGN_OR_RETURN(uint64_t v, ParseUintOption(name, value));
  if (v > (1ull << 50) / mult) return Status::InvalidArgument("option '" + name + "': too large");
  return v * mult;
}

class Params {
 public:
  explicit Params(std::map<std::string, std::string>* params) : params_(params) {}
  // Takes a parameter out of the map.
  std::optional<std::string> Take(const std::string& name) {
    auto it = params_->find(name);
    if (it == params_->end()) return std::nullopt;
    std::string v = it->second;
    params_->erase(it);
    return v;
  }
  Status TakeUint(const std::string& name, uint64_t lo, uint64_t hi, uint64_t* out) {
    auto v = Take(name);
    if (!v) return Status::OK();
    ASSIGN_OR_RETURN(uint64_t n, ParseSize(name, *v));
    if (n < lo || n > hi) {
      return Status::InvalidArgument("option '" + name + "': " + *v + " is outside [" +
                                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    *out = n;
    return Status::OK();
  }
  Status TakeBool(const std::string& name, bool* out) {
    auto v = Take(name);
    if (!v) return Status::OK();
    ASSIGN_OR_RETURN(*out, ParseBoolOption(name, *v));
    return Status::OK();
  }

 private:
  std::map<std::string, std::string>* params_;
};

// Loud, because both are easy to leave in a configuration by mistake: over http:// every
// object (keys and values) crosses the network in the clear, and without TLS verification
// anyone on the path can impersonate the endpoint.
void WarnIfInsecure(const S3Config& c) {
  if (c.endpoint.rfind("http://", 0) == 0) {
    LOG_WARN(
        "WARNING: S3 endpoint {} is plain http://: every object, key and value of bucket '{}' "
        "travels unencrypted (use https:// outside a test setup)",
        c.endpoint, c.bucket);
  }
  if (!c.http.verify_tls) {
    LOG_WARN(
        "WARNING: verify_tls=false for S3 endpoint {}: its TLS certificate is not checked, so "
        "anyone on the network path can impersonate it and read or change bucket '{}'",
        c.endpoint, c.bucket);
  }
}

Status CheckEndpoint(const std::string& endpoint) {
  size_t sep = endpoint.find("://");
  std::string scheme = sep == std::string::npos ? "" : endpoint.substr(0, sep);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument("S3 endpoint '" + endpoint +
                                   "': must start with http:// or https://");
  }
  std::string rest = endpoint.substr(sep + 3);
  if (rest.empty()) return Status::InvalidArgument("S3 endpoint '" + endpoint + "': no host");
  for (char c : rest) {
    if (c == '/' || c == '?' || c == '#' || c == '@' || c == ' ' ||
        static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("S3 endpoint '" + endpoint +
                                     "': expected scheme://host[:port] with no path, query or "
                                     "user info");
    }
  }
  return Status::OK();
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

std::string S3Config::Describe() const {
  return "s3://" + bucket + "/" + prefix + " (endpoint " + endpoint + ", region " + region + ")";
}

std::map<std::string, std::string> ParseAwsIniSection(std::string_view text,
                                                      std::string_view section) {
  std::map<std::string, std::string> out;
  bool in_section = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name = Trim(std::string_view(line).substr(1, line.size() - 2));
      in_section = name == section;
      continue;
    }
    if (!in_section) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[Lower(Trim(std::string_view(line).substr(0, eq)))] =
        Trim(std::string_view(line).substr(eq + 1));
  }
  return out;
}

Result<S3Config> ResolveS3Config(const StoreUrl& url, std::map<std::string, std::string>* params,
                                 const EnvLookup& env) {
  auto getenv_str = [&](const char* name) -> std::string {
    const char* v = env(name);
    return v ? std::string(v) : std::string();
  };
  for (const char* secret : {"access_key_id", "secret_access_key", "session_token",
                             "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                             "access_key", "secret_key", "secret", "token", "password"}) {
    if (params->count(secret)) {
      return Status::InvalidArgument(
          "s3://" + url.bucket + ": credentials are not accepted in URLs ('" + secret +
          "'), because URLs leak into logs and process lists; use AWS_ACCESS_KEY_ID/"
          "AWS_SECRET_ACCESS_KEY or a shared credentials file with AWS_PROFILE");
    }
  }
  S3Config c;
  c.bucket = url.bucket;
  c.prefix = url.prefix;
  Params p(params);

  std::string profile = p.Take("profile").value_or(getenv_str("AWS_PROFILE"));
  if (profile.empty()) profile = "default";
  std::string home = getenv_str("HOME");

  // Region.
  if (auto r = p.Take("region")) {
    c.region = *r;
  } else if (!getenv_str("AWS_REGION").empty()) {
    c.region = getenv_str("AWS_REGION");
  } else if (!getenv_str("AWS_DEFAULT_REGION").empty()) {
    c.region = getenv_str("AWS_DEFAULT_REGION");
  } else {
    std::string path = getenv_str("AWS_CONFIG_FILE");
    if (path.empty() && !home.empty()) path = home + "/.aws/config";
    std::string text;
    if (!path.empty() && ReadSmallFile(path, &text)) {
      auto sec = ParseAwsIniSection(text, profile == "default" ? "default" : "profile " + profile);
      if (!sec["region"].empty()) c.region = sec["region"];
    }
  }
  for (char ch : c.region) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') {
      return Status::InvalidArgument("s3 region '" + c.region + "': letters, digits and '-' only");
    }
  }
  if (c.region.empty()) return Status::InvalidArgument("s3 region is empty");

  // Endpoint and addressing.
  bool custom_endpoint = true;
  if (auto e = p.Take("endpoint")) {
    c.endpoint = *e;
  } else if (!getenv_str("AWS_ENDPOINT_URL_S3").empty()) {
    c.endpoint = getenv_str("AWS_ENDPOINT_URL_S3");
  } else if (!getenv_str("AWS_ENDPOINT_URL").empty()) {
    c.endpoint = getenv_str("AWS_ENDPOINT_URL");
  } else {
    c.endpoint = "https://s3." + c.region + ".amazonaws.com";
    custom_endpoint = false;
  }
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  RETURN_IF_ERROR(CheckEndpoint(c.endpoint));
  // Custom endpoints (MinIO, Ceph, local servers) usually have no wildcard DNS; AWS prefers
  // virtual-hosted addressing, which does not work with dotted bucket names over TLS.
  c.path_style = custom_endpoint || c.bucket.find('.') != std::string::npos;
  RETURN_IF_ERROR(p.TakeBool("path_style", &c.path_style));

  // Quirks.
  std::string quirks = p.Take("quirks").value_or("auto");
  if (quirks == "auto") {
    c.detect_quirks = true;
  } else if (quirks == "aws" || quirks == "none") {
    c.detect_quirks = false;
  } else if (quirks == "ceph") {
    c.detect_quirks = false;
    c.quirks = S3Quirks::Ceph();
  } else {
    return Status::InvalidArgument("option 'quirks': expected auto, aws or ceph, got '" + quirks +
                                   "'");
  }
  if (c.quirks.path_style_only) c.path_style = true;

  // Credentials.
  std::string key_id = getenv_str("AWS_ACCESS_KEY_ID");
  std::string secret = getenv_str("AWS_SECRET_ACCESS_KEY");
  if (!key_id.empty() && !secret.empty()) {
    c.credentials = {key_id, secret, getenv_str("AWS_SESSION_TOKEN")};
    c.credentials_source = "environment (AWS_ACCESS_KEY_ID)";
  } else {
    std::string path = getenv_str("AWS_SHARED_CREDENTIALS_FILE");
    if (path.empty() && !home.empty()) path = home + "/.aws/credentials";
    std::string text;
    if (!path.empty() && ReadSmallFile(path, &text)) {
      auto sec = ParseAwsIniSection(text, profile);
      c.credentials = {sec["aws_access_key_id"], sec["aws_secret_access_key"],
                       sec["aws_session_token"]};
      c.credentials_source = "shared credentials file " + path + " [" + profile + "]";
    }
    if (c.credentials.access_key_id.empty() || c.credentials.secret_access_key.empty()) {
      return Status::InvalidArgument(
          "s3://" + url.bucket +
          ": no S3 credentials: set AWS_ACCESS_KEY_ID and "
          "AWS_SECRET_ACCESS_KEY, or put aws_access_key_id/aws_secret_access_key in profile [" +
          profile + "] of " + (path.empty() ? "~/.aws/credentials" : path));
    }
  }

  RETURN_IF_ERROR(p.TakeBool("conditional_writes", &c.conditional_writes));

  // Limits.
  uint64_t v = 0;
  v = c.http.connect_timeout_ms;
  RETURN_IF_ERROR(p.TakeUint("connect_timeout_ms", 1, 600000, &v));
  c.http.connect_timeout_ms = v;
  v = c.http.request_timeout_ms;
  RETURN_IF_ERROR(p.TakeUint("request_timeout_ms", 1, 3600000, &v));
  c.http.request_timeout_ms = v;
  v = c.http.max_connections;
  RETURN_IF_ERROR(p.TakeUint("max_connections", 1, 4096, &v));
  c.http.max_connections = v;
  RETURN_IF_ERROR(
      p.TakeUint("min_transfer_bytes_per_ms", 1, 1ull << 40, &c.min_transfer_bytes_per_ms));
  RETURN_IF_ERROR(p.TakeBool("verify_tls", &c.http.verify_tls));
  c.http.ca_file = p.Take("ca_file").value_or("");
  v = static_cast<uint64_t>(c.max_attempts);
  RETURN_IF_ERROR(p.TakeUint("max_attempts", 1, 100, &v));
  c.max_attempts = static_cast<int>(v);
  RETURN_IF_ERROR(p.TakeUint("retry_base_delay_ms", 0, 60000, &c.retry_base_delay_ms));
  RETURN_IF_ERROR(p.TakeUint("retry_max_delay_ms", 0, 600000, &c.retry_max_delay_ms));
  // S3 parts are 5 MiB..5 GiB (the last may be smaller).
  RETURN_IF_ERROR(
      p.TakeUint("multipart_part_size", 5ull << 20, 5ull << 30, &c.multipart_part_bytes));
  RETURN_IF_ERROR(
      p.TakeUint("multipart_threshold", 5ull << 20, 5ull << 30, &c.multipart_threshold_bytes));
  v = c.multipart_parallelism;
  RETURN_IF_ERROR(p.TakeUint("multipart_parallelism", 1, 64, &v));
  c.multipart_parallelism = v;
  RETURN_IF_ERROR(
      p.TakeUint("parallel_get_part_size", 1ull << 20, 1ull << 30, &c.parallel_get_part_bytes));
  v = c.parallel_get_parallelism;
  RETURN_IF_ERROR(p.TakeUint("parallel_get_parallelism", 1, 64, &v));
  c.parallel_get_parallelism = v;
  WarnIfInsecure(c);
  return c;
}

}  // namespace cloudkv
