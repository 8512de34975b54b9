// SPDX-License-Identifier: Apache-2.0
// The command table of `cloudkv serve` and the state commands share.
//
// Every command, including the ones that change only the connection's state (AUTH, HELLO,
// MULTI, EXEC, WATCH, ...), is a handler in the table. The connection (connection.cc) has one
// dispatch path: it looks a command up, checks arity, authentication, MULTI and read-only mode,
// and runs the handler in the way its flags say. Connection-state commands (kCmdSession) run at
// once without a Txn; EXEC (kCmdTransaction) runs under the locks of its queued commands' keys
// and the watched keys; write commands take their keys' locks (and may share a write group's
// Txn); reads get a Txn over the durable (or newest) state. The connection then commits the
// Txn's batch (txn.h). Handlers only read and write through the Txn, change only the Session
// (session.h) and reply through the ReplyWriter; they validate everything before writing, so
// a command that replies with an error writes nothing.
#ifndef CLOUDKV_SERVER_COMMANDS_H_
#define CLOUDKV_SERVER_COMMANDS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cloudkv/db.h"
#include "server/blocking.h"
#include "server/durability_tracker.h"
#include "server/glob.h"
#include "server/key_encoding.h"
#include "server/key_locks.h"
#include "server/keyspace_counter.h"
#include "server/metrics.h"
#include "server/resp.h"
#include "server/session.h"
#include "server/txn.h"
#include "server/watch_registry.h"

namespace cloudkv {}  // namespace cloudkv

namespace cloudkv::server {

// What `cloudkv serve` does when another writer fences its database.
enum class OnFenced : uint8_t {
  kExit,      // log it and exit non-zero (3), so a supervisor notices
  kReadOnly,  // log it, reopen the database read-only and go on serving reads
};

struct ServerConfig {
  std::string db_url;
  std::string bind = "127.0.0.1";
  int port = 6379;
  std::string requirepass;
  // Where /metrics, /healthz and /readyz listen (RunServe); loopback unless told otherwise,
  // since the endpoint has no authentication.
  std::string metrics_bind = "127.0.0.1";
  bool read_only = false;
  // Set on the read-only server that RunServe starts after its writer was fenced
  // (OnFenced::kReadOnly): INFO and /metrics report fenced, /readyz says not ready.
  bool fenced_read_only = false;
  OnFenced on_fenced = OnFenced::kExit;
  int metrics_port = 0;  // 0 = no metrics endpoint (RunServe serves it)
  // A bound, listening TCP socket to accept on instead of binding bind:port (not owned: the
  // server accepts on a duplicate and closes only that). -1 = bind bind:port itself.
  int listen_fd = -1;
  // How often the writer's watchdog reads the database so that a newer writer's fence is seen
  // without client traffic (the read confirms the epoch every Options::epoch_check_interval_ms).
  uint64_t watchdog_interval_ms = 500;
  int threads = 2;
  // The engine's block cache (Options::block_cache_bytes); 0 = the engine's default.
  size_t block_cache_bytes = 0;
  // The engine's local disk cache (Options::disk_cache_dir, disk_cache_bytes); empty = none,
  // 0 bytes = the engine's default bound.
  std::string disk_cache_dir;
  uint64_t disk_cache_bytes = 0;
  // WAL group commit (Options::wal_flush_interval_ms, max_wal_puts_per_second, wal_max_bytes,
  // epoch_check_interval_ms); unset = the engine's defaults.
  std::optional<uint64_t> wal_flush_interval_ms;
  std::optional<double> max_wal_puts_per_second;
  std::optional<size_t> wal_max_bytes;
  std::optional<uint64_t> epoch_check_interval_ms;
  // Options::create_in_non_empty_location (`serve --create`).
  bool create_in_non_empty_location = false;
  RespLimits resp;
  size_t max_clients = 10000;
  // A client whose unparsed input exceeds this is disconnected (Redis client-query-buffer-limit).
  size_t max_query_buffer_bytes = 1ull << 30;
  // Replies a client may have outstanding before the server stops reading from it.
  size_t max_pipelined_commands = 4096;
  // Replies a client has queued (written or not, ready or waiting for durability) beyond
  // which the server stops reading from it until they drain.
  size_t max_output_buffer_bytes = 64ull << 20;
  // Queued reply bytes beyond which the client is disconnected (a reply larger than the soft
  // limit above, or many of them from one read).
  size_t max_output_buffer_hard_bytes = 512ull << 20;
  // Seconds of inactivity before a client is closed; 0 = never (Redis timeout).
  uint64_t idle_timeout_s = 0;
  // Seconds a client may stay connected without authenticating (with requirepass); 0 = ever.
  uint64_t auth_timeout_s = 10;
  // Seconds a reply may wait for the client to read any of it before the client is closed
  // (a client that never reads); 0 = never.
  uint64_t write_timeout_s = 60;
  // After a failed AUTH (or HELLO AUTH) the connection reads nothing for this long.
  uint64_t auth_failure_delay_ms = 100;
  size_t max_multi_commands = 100000;
  // Bytes of arguments queued in MULTI (also bounded by max_query_buffer_bytes).
  size_t max_multi_bytes = 1ull << 30;
  // SCAN/HSCAN cursors one connection keeps (its oldest are forgotten); other connections'
  // cursors are never evicted by it. Cursors are forgotten when their connection closes.
  size_t max_scan_cursors_per_client = 16;
  // File descriptors kept free, beyond those open once the database is open, for the
  // engine's uploads, flushes and compactions when max_clients is fitted to the open-file
  // limit (RunServe).
  size_t reserved_fds = 64;
  // The engine's limits (the Options the database was opened with): a write group never
  // risks a batch the engine would refuse for one command's sake.
  size_t engine_max_key_bytes = Options{}.max_key_bytes;
  size_t engine_max_value_bytes = Options{}.max_value_bytes;
  size_t engine_max_batch_bytes = Options{}.max_batch_bytes;
  // SHUTDOWN calls this to ask whoever runs the server to stop it gracefully (RunServe: as on
  // SIGTERM). Empty: SHUTDOWN is refused with an error.
  std::function<void()> shutdown;
};

// Resumption points of SCAN/HSCAN: Redis cursors are integers, ours map to the last key
// returned. Each cursor belongs to the connection that got it: a connection keeps at most
// `per_owner` cursors (saving one more forgets its own oldest), so no client can evict
// another's; any connection may resume any live cursor (as in Redis). A connection's cursors
// are forgotten when it closes. Thread-safe.
class CursorTable {
 public:
  explicit CursorTable(size_t per_owner) : per_owner_(std::max<size_t>(1, per_owner)) {}
  uint64_t Save(uint64_t owner, std::string last_key);
  std::optional<std::string> Find(uint64_t cursor);
  void ForgetOwner(uint64_t owner);
  size_t size();

 private:
  struct Entry {
    uint64_t owner;
    std::string last_key;
  };
  std::mutex mu_;
  const size_t per_owner_;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, Entry> map_;
  std::unordered_map<uint64_t, std::deque<uint64_t>> by_owner_;  // oldest first
};

// Redis's encoding and memory tunables (hash-max-listpack-value, maxmemory-policy, ...):
// CONFIG SET validates and stores them, CONFIG GET reports them, OBJECT ENCODING reads them.
// They change nothing else here (the data lives in an LSM, not in listpacks). Thread-safe.
class Tunables {
 public:
  Tunables();
  // The value of a tunable by its canonical name (not an alias); empty if unknown.
  std::string Get(std::string_view name) const;
  // Every tunable (aliases included) whose name matches `pattern`: (name, value) pairs.
  std::vector<std::pair<std::string, std::string>> Match(std::string_view pattern) const;
  // Whether `name` (any case, canonical or alias) is a tunable.
  static bool Known(std::string_view name);
  // Validates (name, value) pairs and stores them all or none. On failure returns Redis's
  // error text and stores nothing.
  std::optional<std::string> Set(const std::vector<std::pair<std::string, std::string>>& pairs);

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> values_;  // by canonical name; guarded by mu_
};

// State shared by every connection. Constant after construction except where noted.
struct ServerState {
  ServerState(DB* db, ServerConfig config, uint64_t writer_epoch);

  DB* const db;
  const ServerConfig config;
  KeyLocks locks;
  WatchRegistry watches;
  BlockingRegistry blocking;
  DurabilityTracker tracker;
  VersionAllocator versions;
  CursorTable cursors;
  KeyspaceCounter keyspace;  // INFO keyspace, counted in the background
  Tunables tunables;         // changed by CONFIG SET
  Metrics metrics;
  const uint64_t start_ms;
  std::atomic<uint64_t> next_client_id{1};
  std::atomic<uint64_t> connected_clients{0};
  std::atomic<uint64_t> total_connections{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> total_commands{0};
  std::atomic<uint64_t> protocol_errors{0};
  // Failed AUTH and HELLO AUTH attempts (INFO acl_access_denied_auth, /metrics).
  std::atomic<uint64_t> auth_failures{0};
  // Clients closed by a limit: unauthenticated too long, a write that made no progress,
  // queued replies beyond the hard output limit; failed accepts (EMFILE, ...).
  std::atomic<uint64_t> auth_timeouts{0};
  std::atomic<uint64_t> write_timeouts{0};
  std::atomic<uint64_t> output_limit_closes{0};
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> keyspace_hits{0};
  std::atomic<uint64_t> keyspace_misses{0};
  // Replies that were errors (INFO total_error_replies).
  std::atomic<uint64_t> error_replies{0};
  // The watchdog (or a write) saw Fenced: a newer writer owns the database.
  std::atomic<bool> fenced{false};
  // The writer's last watchdog read confirmed (or did not refute) its epoch.
  std::atomic<bool> writer_confirmed{false};

  // True while this server is the database's writer as far as it knows.
  bool IsWriter() const { return !config.read_only && !fenced.load(); }
  bool WasFenced() const { return config.fenced_read_only || fenced.load(); }
};

struct CommandContext {
  ServerState* server;
  Session* session;  // the connection's state
  Txn* txn;          // null for a kCmdSession command run outside EXEC
  ReplyWriter* out;
  const std::vector<std::string>& args;
};

using CommandHandler = void (*)(CommandContext& ctx);

enum CommandFlags : uint32_t {
  kCmdWrite = 1u << 0,     // modifies data: locked, committed, refused in --read-only
  kCmdReadOnly = 1u << 1,  // reads data
  kCmdFast = 1u << 2,
  // Reads or changes only the connection's Session (AUTH, MULTI, CLIENT, ...): runs at once,
  // without a Txn, and replies at once.
  kCmdSession = 1u << 3,
  kCmdNoAuth = 1u << 4,   // allowed before AUTH
  kCmdNoMulti = 1u << 5,  // executed at once even inside MULTI
  kCmdAllKeys = 1u << 6,  // touches every key (FLUSHDB): locks all stripes
  kCmdAdmin = 1u << 7,
  // The handler reads the database exactly once (GET, TTL, ...): that read needs no snapshot
  // to be consistent with itself (Txn skips GetSnapshot/ReleaseSnapshot).
  kCmdOneRead = 1u << 8,
  // A write whose records are bounded by its arguments' sizes (no value read and grown, no
  // key range): consecutive ones of a connection may share one WriteBatch (a write group).
  kCmdGroup = 1u << 9,
  // Runs the commands queued since MULTI (EXEC). With a valid queue the connection locks the
  // keys of the queued commands and the watched keys, gives the handler a Txn that reads the
  // newest state and commits it as one batch; otherwise the handler runs as a kCmdSession
  // command (and replies an error).
  kCmdTransaction = 1u << 10,
  // May park the client until a push to one of its keys (BLPOP, ...): outside MULTI the
  // connection runs it as a write that may set Session::block instead of replying.
  kCmdBlocking = 1u << 11,
  // Refused inside MULTI (Redis's "Command not allowed inside a transaction"): the
  // transaction is flagged and EXEC fails with EXECABORT.
  kCmdNoTransaction = 1u << 12,
};

struct CommandSpec {
  const char* name;  // lower case
  int arity;         // Redis convention: n = exactly n args (name included), -n = at least n
  uint32_t flags;
  int first_key, last_key, step;  // 1-based positions of keys; last_key -1 = to the end
  CommandHandler handler;
  const char* summary;
};

// The whole table (stable order; index = metrics slot).
std::span<const CommandSpec> AllCommands();
// Looks a command up by its name in any case; null if unknown.
const CommandSpec* FindCommand(std::string_view name);
size_t CommandIndex(const CommandSpec* spec);
// The key arguments of a command (views into args) into `keys` (cleared first, so its
// capacity is reused).
void CommandKeys(const CommandSpec& spec, const std::vector<std::string>& args,
                 std::vector<std::string_view>* keys);
bool ArityOk(const CommandSpec& spec, size_t argc);

// --- Helpers shared by the handlers ---------------------------------------------------------

inline constexpr std::string_view kErrWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kErrNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kErrSyntax = "ERR syntax error";

std::string Lower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Strict integer parse like Redis string2ll (no spaces, no '+', no leading zeros).
bool ParseInt64(std::string_view s, int64_t* out);
// Float parse like Redis string2ld (no spaces, not NaN).
bool ParseLongDouble(std::string_view s, long double* out);
// Formats like Redis ld2string human mode (%.17Lf with trailing zeros trimmed).
std::string FormatLongDouble(long double value);
// Replies "ERR <status>" for an engine error.
void ReplyStatus(ReplyWriter* out, const Status& status);

// The arguments of SCAN and HSCAN: a cursor, then options in any order.
struct ScanOptions {
  // Options beyond MATCH and COUNT, which only some commands take.
  enum Extra : uint32_t { kType = 1u << 0, kNoValues = 1u << 1 };
  // At most this many entries are examined per call, whatever COUNT says.
  static constexpr int64_t kMaxCount = 100000;

  int64_t cursor = 0;
  std::optional<std::string> pattern;  // MATCH
  int64_t count = 10;                  // COUNT (>= 1)
  std::optional<std::string> type;     // TYPE, lower case (SCAN)
  bool novalues = false;               // NOVALUES (HSCAN)

  // Entries to examine in this call.
  size_t budget() const { return static_cast<size_t>(std::min(count, kMaxCount)); }
};
// Parses ctx.args[cursor_index] as the cursor and the options after it; `extra` says which of
// TYPE and NOVALUES the command takes. False (after replying as Redis does) on a bad cursor, a
// bad COUNT or an unknown option.
bool ParseScanOptions(CommandContext& ctx, size_t cursor_index, uint32_t extra,
                      ScanOptions* options);
// Where a scan resumes: nullopt for cursor 0, else the last key the cursor returned. False
// (after replying "ERR invalid cursor") if the cursor table does not know the cursor.
bool FindScanStart(CommandContext& ctx, int64_t cursor, std::optional<std::string>* start_after);

// Reads a key expected to be a string: false (after replying) on error or WRONGTYPE.
bool ReadString(CommandContext& ctx, std::string_view key, std::optional<Metadata>* meta);
// Reads a key expected to be a hash: false (after replying) on error or WRONGTYPE.
bool ReadHash(CommandContext& ctx, std::string_view key, std::optional<Metadata>* meta);
// Reads a key expected to be of `type`: false (after replying) on error or WRONGTYPE.
bool ReadTyped(CommandContext& ctx, std::string_view key, ValueType type,
               std::optional<Metadata>* meta);
// The live collection of `type` at `key`, or a new empty one with a fresh version (`*created`
// says which). False after replying on error or WRONGTYPE.
bool OpenCollection(CommandContext& ctx, std::string_view key, ValueType type, Metadata* meta,
                    bool* created = nullptr);
// Writes a collection's metadata, or deletes the key once it is empty (Redis never keeps an
// empty collection). An emptied collection's records are already deleted by the caller.
void StoreCollection(CommandContext& ctx, std::string_view key, const Metadata& meta);
// Deletes whatever `key` holds (any type, O(1)): for STORE commands' destinations.
Status DeleteAnyKey(CommandContext& ctx, std::string_view key);
// Strict parse of a Redis double argument (score, timeout): like ParseLongDouble, into double.
bool ParseDouble(std::string_view s, double* out);
// Redis's range normalisation of [start, stop] over `length` elements (negative from the end);
// false if the range is empty.
bool NormalizeRange(int64_t start, int64_t stop, uint64_t length, uint64_t* first, uint64_t* last);
// The largest string value a key may hold: proto-max-bulk-len, or less if the engine's
// max_value_bytes is smaller (a string's record adds a small header).
size_t MaxStringValueBytes(const CommandContext& ctx);
// A pseudo-random 64-bit number (SPOP, SRANDMEMBER, RANDOMKEY, ...).
uint64_t RandomU64();

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_COMMANDS_H_
