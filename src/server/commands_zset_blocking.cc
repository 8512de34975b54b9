// SPDX-License-Identifier: Apache-2.0
// BZPOPMIN and BZPOPMAX: pop the lowest (highest) scored member of the first non-empty sorted
// set, or block until a write to one of the keys (ZADD, ZINCRBY, a *STORE, COPY) serves the
// client from the writer's own transaction (blocking.h), or the timeout passes.
#include <cassert>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

struct Popped {
  std::string member;
  double score;
};

// Pops the lowest (highest with `max`) member of a live zset; updates meta.count and writes
// the metadata (or deletes the emptied key).
Result<Popped> PopOne(CommandContext& ctx, const std::string& key, Metadata* meta, bool max) {
  assert(meta->type == ValueType::kZSet && meta->count > 0);
  std::string begin = ZSetIndexPrefix(meta->version);
  std::string end = begin;
  end.back()++;
  std::optional<Popped> popped;
  auto take = [&](std::string_view k, std::string_view) {
    auto decoded = redis::DecodeZSetIndexKey(k);
    if (!decoded) return true;
    popped = Popped{std::string(decoded->second), decoded->first};
    return false;
  };
  Status s =
      max ? ctx.txn->ScanReverse(begin, end, take) : ctx.txn->Scan(begin, end, std::nullopt, take);
  if (!s.ok()) return s;
  if (!popped) return Status::Corruption("zset " + key + " has fewer members than its count");
  ctx.txn->DeleteRaw(ZSetMemberKey(meta->version, popped->member));
  ctx.txn->DeleteRaw(ZSetIndexKey(meta->version, popped->score, popped->member));
  meta->count--;
  StoreCollection(ctx, key, *meta);
  return *std::move(popped);
}

void ReplyPopped(ReplyWriter* out, std::string_view key, const Popped& popped) {
  out->Array(3);
  out->Bulk(key);
  out->Bulk(popped.member);
  if (out->protocol() >= 3) {
    out->Double(popped.score);
  } else {
    out->Bulk(FormatDouble(popped.score));
  }
}

void BlockingZPop(CommandContext& ctx, bool max) {
  const auto& a = ctx.args;
  uint64_t timeout_ms = 0;
  if (!ParseTimeout(ctx, a.back(), &timeout_ms)) return;
  for (size_t i = 1; i + 1 < a.size(); i++) {
    std::optional<Metadata> meta;
    if (!ReadTyped(ctx, a[i], ValueType::kZSet, &meta)) return;
    if (!meta) continue;
    Result<Popped> popped = PopOne(ctx, a[i], &*meta, max);
    if (!popped.ok()) return ReplyStatus(ctx.out, popped.status());
    return ReplyPopped(ctx.out, a[i], *popped);
  }
  if (!ctx.session->may_block) return ctx.out->NullArray();
  Session::BlockRequest request;
  request.keys.assign(a.begin() + 1, a.end() - 1);
  request.timeout_ms = timeout_ms;
  request.mode = static_cast<uint8_t>(max ? BlockingRegistry::Mode::kZPopMax
                                          : BlockingRegistry::Mode::kZPopMin);
  ctx.session->block = std::move(request);
}

}  // namespace

void ServeZSetWaiters(CommandContext& ctx, const std::string& key, Metadata meta) {
  assert(meta.type == ValueType::kZSet);
  while (meta.count > 0) {
    std::optional<BlockingRegistry::Waiter> waiter = ctx.server->blocking.TakeOldest(key, true);
    if (!waiter) break;
    Result<Popped> popped =
        PopOne(ctx, key, &meta, waiter->mode == BlockingRegistry::Mode::kZPopMax);
    if (!popped.ok()) {
      waiter->deliver(std::nullopt);  // let it try for itself
      break;
    }
    ReplyWriter reply(waiter->protocol);
    ReplyPopped(&reply, key, *popped);
    waiter->deliver(std::move(reply.buffer()));
  }
}

void CmdBZPopMin(CommandContext& ctx) { BlockingZPop(ctx, false); }
void CmdBZPopMax(CommandContext& ctx) { BlockingZPop(ctx, true); }

}  // namespace cloudkv::server
