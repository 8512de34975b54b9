// SPDX-License-Identifier: Apache-2.0
// ObjectStore: the only durable state cloudkv has (docs/design.md §11).
//
// An object store maps keys to immutable byte strings and offers three kinds of put:
// overwrite, create-if-absent and replace-if-match(etag). The if-absent and if-match puts are
// the atomic primitives the manifest commit and writer fencing are built on: of several
// racing conditional puts at most one succeeds; the others get PreconditionFailed.
//
// Keys are UTF-8 strings of 1..1024 bytes made of '/'-separated segments. A segment may not be
// empty, ".", or "..", and no byte may be NUL or a control character; a bad key gets
// InvalidArgument naming it. Backends map '/' to their own hierarchy (directories for file://).
//
// Backends are selected by URL (see OpenObjectStore and docs/object-stores.md):
//   memory://name               process-local, for tests; same name = same store
//   file:///abs/path            a local directory
//   file://./relative           a directory relative to the working directory
//   s3://bucket/prefix          Amazon S3 or a compatible server
// A query string selects wrappers, e.g. file://./db?simulate=s3 or memory://x?faults=...
//
// Errors. Besides those each call lists (NotFound, PreconditionFailed, InvalidArgument for a bad
// range), every call may return:
//   InvalidArgument  a bad key, named with the rule it breaks.
//   IOError          the backend failed; retryable() says whether the same request may succeed
//                    if sent again (a timeout, a reset connection, a 5xx) or not (access denied,
//                    no space, a failed fsync, after which file:// refuses writes until opened
//                    again).
//   TimedOut         a request got no answer in time (s3://); always retryable().
//   NotSupported     the backend cannot do this: on file://, a key and a key below it ('k' and
//                    'k/x') cannot coexist; on s3://, the server does not implement the request.
//   Corruption       the answer contradicts itself (s3://: a malformed Content-Range or
//                    Content-Length; file://: an object that shrank while read, i.e. changed
//                    outside cloudkv).
//
// Thread-safety: every ObjectStore is safe for concurrent use from any number of threads. All
// calls are synchronous; concurrency comes from calling from several threads.
#ifndef CLOUDKV_OBJECT_STORE_H_
#define CLOUDKV_OBJECT_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cloudkv/status.h"

namespace cloudkv {

// A byte range [offset, offset + length).
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // opaque; compare only for equality
};

struct GetResult {
  std::string data;
  std::string etag;
  uint64_t object_size = 0;  // size of the whole object, also for a ranged get
};

enum class PutMode : uint8_t {
  kOverwrite,  // unconditional
  kIfAbsent,   // create-if-absent: PreconditionFailed if the key exists
  kIfMatch,    // compare-and-swap: PreconditionFailed unless the current etag equals if_match
};

struct PutOptions {
  PutMode mode = PutMode::kOverwrite;
  std::string if_match;  // the etag to match, REQUIRED for kIfMatch, ignored otherwise

  static PutOptions Overwrite() { return {}; }
  static PutOptions IfAbsent() { return {PutMode::kIfAbsent, {}}; }
  static PutOptions IfMatch(std::string etag) { return {PutMode::kIfMatch, std::move(etag)}; }
};

struct ListResult {
  std::vector<ObjectInfo> objects;  // in byte-wise key order
  // True when more keys match; pass objects.back().key as start_after to continue.
  bool truncated = false;
};

// How long one request to a store typically takes.
enum class StoreLatencyClass : uint8_t {
  // Microseconds to about a millisecond, and free: memory://, file://.
  kLocal,
  // Tens of milliseconds, and each request is billed: s3://, or a local store behind the
  // simulated S3 latency profile (?simulate=s3).
  kRemote,
};

// What a store is and what it can guarantee, as the store itself reports it (never inferred from
// Describe() or the URL); wrappers report their base's, changed only where they change it.
struct StoreCapabilities {
  // Create-if-absent and replace-if-match are atomic: of racing conditional puts at most one
  // succeeds. The engine refuses to open a database as a writer on a store without
  // atomic_if_absent, rather than run without fencing.
  bool atomic_if_absent = true;
  bool atomic_if_match = true;
  // The objects live on another machine, reached over the network (s3://). False for
  // memory:// and file://, also behind a wrapper that only simulates a remote store's latency.
  bool remote = false;
  // Picks the engine's defaults where Options leaves them unset: read_unit_bytes,
  // max_wal_puts_per_second and max_inflight_wal_uploads (see options.h).
  StoreLatencyClass latency_class = StoreLatencyClass::kLocal;
};

// Virtual methods take no default arguments (a default binds to the static type of the call,
// not to the override that runs); the short forms are non-virtual overloads that forward. An
// override of Get, Put or List hides them from calls through the subclass's own type, so a
// subclass used that way adds `using ObjectStore::Get;` (and so on), as ObjectStoreWrapper does.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Reads a whole object (range == nullopt), or `range` of it. A range that starts at or past
  // the end of the object is InvalidArgument (as S3's 416), except a zero-length range, which
  // returns no bytes. A range that runs past the end is cut at the end. Missing key: NotFound.
  virtual Result<GetResult> Get(std::string_view key, std::optional<ByteRange> range) = 0;
  // Reads a whole object: Get(key, std::nullopt).
  Result<GetResult> Get(std::string_view key) { return Get(key, std::nullopt); }

  // Size and etag of an object. Missing key: NotFound.
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;

  // Stores `data` under `key` as a whole: a reader sees the old object or the new one, never a
  // mix, also after a crash mid-put. Returns the new etag. A lost race of a conditional put is
  // PreconditionFailed and changes nothing. If-match on a missing key is PreconditionFailed.
  virtual Result<std::string> Put(std::string_view key, std::string_view data,
                                  const PutOptions& options) = 0;
  // An unconditional put: Put(key, data, PutOptions::Overwrite()).
  Result<std::string> Put(std::string_view key, std::string_view data) {
    return Put(key, data, PutOptions::Overwrite());
  }

  // Deletes an object. Deleting a missing key is OK (idempotent).
  virtual Status Delete(std::string_view key) = 0;

  // Deletes several objects; missing keys are OK. A bad key anywhere in `keys` is
  // InvalidArgument and deletes nothing. The default checks the keys, then calls Delete for each.
  virtual Status DeleteMany(std::span<const std::string> keys);

  // Lists keys that start with `prefix` and sort after `start_after` (byte-wise), in order, at
  // most `limit` of them (0 means a backend default of 1000).
  virtual Result<ListResult> List(std::string_view prefix, std::string_view start_after,
                                  size_t limit) = 0;
  // List(prefix, start_after, 0): at most the backend default of keys.
  Result<ListResult> List(std::string_view prefix, std::string_view start_after = {}) {
    return List(prefix, start_after, 0);
  }

  // What the store is and guarantees (see StoreCapabilities). The default, {}, describes a
  // local store with atomic conditional puts.
  virtual StoreCapabilities capabilities() const { return {}; }

  // A human-readable name for messages, e.g. "file:///var/db".
  virtual std::string Describe() const = 0;
};

// Checks a key against the rules above. Returns InvalidArgument naming the key and the rule.
Status ValidateObjectKey(std::string_view key);

// Options of OpenObjectStore that are not part of the URL.
struct ObjectStoreOptions {
  // Extra query parameters, merged with (and overridden by) the URL's own.
  std::map<std::string, std::string> params;
  // file://: create the directory, its missing parents and cloudkv's .cloudkv/ inside it. When
  // false nothing is created: a directory that does not exist, or that cloudkv never stored an
  // object in (no .cloudkv/), is NotFound. Other schemes create nothing when opened.
  bool create_location = true;
};

// Opens the store a URL names, wrapped as its query asks. Errors: InvalidArgument naming the
// bad part of a malformed URL or an unknown option; NotSupported for a known scheme this build
// cannot serve; IOError when the location cannot be used (e.g. not a directory); NotFound when
// !options.create_location and the location does not exist.
Result<std::shared_ptr<ObjectStore>> OpenObjectStore(std::string_view url,
                                                     const ObjectStoreOptions& options = {});

}  // namespace cloudkv

#endif  // CLOUDKV_OBJECT_STORE_H_
