// SPDX-License-Identifier: Apache-2.0
// Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
// BITFIELD_RO. Bits are numbered as in Redis: bit 0 is the most significant bit of byte 0.
// A bitmap is an ordinary string value, so it is bounded like one (MaxStringValueBytes): an
// offset beyond the bound is refused before anything is allocated.
#include <algorithm>
#include <bit>
#include <cassert>
#include <climits>

#include "server/handlers.h"

namespace cloudkv::server {
namespace {

constexpr std::string_view kErrBitOffset = "ERR bit offset is not an integer or out of range";

// Parses a bit offset (a plain non-negative integer, or with `hash` "#N" meaning N * bits)
// that, with `bits` more bits, stays within a string value of MaxStringValueBytes.
bool ParseBitOffset(CommandContext& ctx, std::string_view arg, bool hash, uint64_t bits,
                    uint64_t* offset) {
  bool multiply = false;
  if (hash && !arg.empty() && arg[0] == '#') {
    multiply = true;
    arg.remove_prefix(1);
  }
  int64_t v = 0;
  const uint64_t max_bits = static_cast<uint64_t>(MaxStringValueBytes(ctx)) * 8;
  if (!ParseInt64(arg, &v) || v < 0) return false;
  uint64_t bit = static_cast<uint64_t>(v);
  if (multiply) {
    if (bits != 0 && bit > max_bits / bits) return false;
    bit *= bits;
  }
  if (bit >= max_bits || bits > max_bits - bit) return false;
  *offset = bit;
  return true;
}

bool GetBit(std::string_view value, uint64_t bit) {
  const uint64_t byte = bit >> 3;
  if (byte >= value.size()) return false;
  return (static_cast<uint8_t>(value[byte]) >> (7 - (bit & 7))) & 1;
}

void SetBit(std::string* value, uint64_t bit, bool on) {
  const uint64_t byte = bit >> 3;
  assert(byte < value->size());
  const uint8_t mask = static_cast<uint8_t>(1u << (7 - (bit & 7)));
  uint8_t b = static_cast<uint8_t>((*value)[byte]);
  b = on ? (b | mask) : (b & ~mask);
  (*value)[byte] = static_cast<char>(b);
}

// Writes back a string read with ReadString (keeping its expiry).
void StoreBits(CommandContext& ctx, std::string_view key, const std::optional<Metadata>& meta,
               std::string_view value) {
  ctx.txn->PutString(key, value, meta ? meta->expire_at_ms : 0);
}

// Redis's normalisation of a BITCOUNT/BITPOS range over `length` units (bytes or bits).
// False if the range is empty. BITCOUNT (`both_negative_empty`) takes two negative bounds
// with start > end as empty before clamping; BITPOS clamps them first (so -1 -2 over one byte
// is that byte), as Redis 7.0 does.
bool NormalizeBitRange(int64_t start, int64_t end, int64_t length, bool both_negative_empty,
                       int64_t* first, int64_t* last) {
  if (both_negative_empty && start < 0 && end < 0 && start > end) return false;
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= length) end = length - 1;
  if (start > end) return false;
  *first = start;
  *last = end;
  return true;
}

// Parses the optional "start end [BYTE|BIT]" of BITCOUNT/BITPOS from args[from].
bool ParseBitRangeArgs(CommandContext& ctx, size_t from, int64_t* start, int64_t* end,
                       bool* has_end, bool* bit_unit) {
  const auto& a = ctx.args;
  *has_end = false;
  *bit_unit = false;
  if (a.size() > from && !ParseInt64(a[from], start)) {
    ctx.out->Error(kErrNotInteger);
    return false;
  }
  if (a.size() > from + 1) {
    if (!ParseInt64(a[from + 1], end)) {
      ctx.out->Error(kErrNotInteger);
      return false;
    }
    *has_end = true;
  }
  if (a.size() > from + 2) {
    if (EqualsIgnoreCase(a[from + 2], "bit")) {
      *bit_unit = true;
    } else if (!EqualsIgnoreCase(a[from + 2], "byte")) {
      ctx.out->Error(kErrSyntax);
      return false;
    }
  }
  return true;
}

// --- BITFIELD ---------------------------------------------------------------------------------

enum class Overflow { kWrap, kSat, kFail };

struct FieldOp {
  enum Kind { kGet, kSet, kIncrBy } kind;
  bool is_signed;
  uint32_t bits;
  uint64_t offset;
  int64_t value;  // SET's value or INCRBY's increment
  Overflow overflow;
};

bool ParseFieldType(std::string_view arg, bool* is_signed, uint32_t* bits) {
  if (arg.size() < 2 || arg.size() > 3) return false;
  const char c = arg[0];
  if (c != 'i' && c != 'I' && c != 'u' && c != 'U') return false;
  *is_signed = c == 'i' || c == 'I';
  int64_t n = 0;
  if (!ParseInt64(arg.substr(1), &n)) return false;
  if (n < 1 || (*is_signed && n > 64) || (!*is_signed && n > 63)) return false;
  *bits = static_cast<uint32_t>(n);
  return true;
}

uint64_t ReadField(std::string_view value, uint64_t offset, uint32_t bits) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < bits; i++) v = (v << 1) | (GetBit(value, offset + i) ? 1 : 0);
  return v;
}

void WriteField(std::string* value, uint64_t offset, uint32_t bits, uint64_t v) {
  for (uint32_t i = 0; i < bits; i++) {
    SetBit(value, offset + i, (v >> (bits - 1 - i)) & 1);
  }
}

int64_t SignExtend(uint64_t v, uint32_t bits) {
  if (bits == 64) return static_cast<int64_t>(v);
  const uint64_t sign = uint64_t{1} << (bits - 1);
  v &= (sign << 1) - 1;
  return static_cast<int64_t>((v ^ sign) - sign);
}

// Applies the overflow policy to `wanted` (exact) for a field of `bits`; false with kFail on
// overflow. `*stored` is the field's new value.
bool FitField(__int128 wanted, bool is_signed, uint32_t bits, Overflow overflow, int64_t* stored) {
  __int128 min = 0, max = 0;
  if (is_signed) {
    max = (static_cast<__int128>(1) << (bits - 1)) - 1;
    min = -max - 1;
  } else {
    max = (static_cast<__int128>(1) << bits) - 1;
  }
  if (wanted >= min && wanted <= max) {
    *stored = static_cast<int64_t>(wanted);
    return true;
  }
  switch (overflow) {
    case Overflow::kFail:
      return false;
    case Overflow::kSat:
      *stored = static_cast<int64_t>(wanted < min ? min : max);
      return true;
    case Overflow::kWrap: {
      const uint64_t low = static_cast<uint64_t>(wanted);  // two's complement low 64 bits
      if (is_signed) {
        *stored = SignExtend(low, bits);
      } else {
        *stored = static_cast<int64_t>(low & ((uint64_t{1} << bits) - 1));
      }
      return true;
    }
  }
  return false;
}

void BitFieldGeneric(CommandContext& ctx, bool read_only) {
  const auto& a = ctx.args;
  std::vector<FieldOp> ops;
  Overflow overflow = Overflow::kWrap;
  bool writes = false;
  for (size_t i = 2; i < a.size(); i++) {
    const size_t left = a.size() - i - 1;
    std::string op = Lower(a[i]);
    if (op == "overflow" && left >= 1) {
      std::string kind = Lower(a[++i]);
      if (kind == "wrap") {
        overflow = Overflow::kWrap;
      } else if (kind == "sat") {
        overflow = Overflow::kSat;
      } else if (kind == "fail") {
        overflow = Overflow::kFail;
      } else {
        return ctx.out->Error("ERR Invalid OVERFLOW type specified");
      }
      continue;
    }
    FieldOp field{};
    if (op == "get" && left >= 2) {
      field.kind = FieldOp::kGet;
    } else if (op == "set" && left >= 3) {
      field.kind = FieldOp::kSet;
    } else if (op == "incrby" && left >= 3) {
      field.kind = FieldOp::kIncrBy;
    } else {
      return ctx.out->Error(kErrSyntax);
    }
    if (!ParseFieldType(a[i + 1], &field.is_signed, &field.bits)) {
      return ctx.out->Error(
          "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
          "supported but i64 is.");
    }
    if (!ParseBitOffset(ctx, a[i + 2], true, field.bits, &field.offset)) {
      return ctx.out->Error(kErrBitOffset);
    }
    if (field.kind != FieldOp::kGet) {
      if (read_only) return ctx.out->Error("ERR BITFIELD_RO only supports the GET subcommand");
      if (!ParseInt64(a[i + 3], &field.value)) return ctx.out->Error(kErrNotInteger);
      writes = true;
      i++;
    }
    field.overflow = overflow;
    ops.push_back(field);
    i += 2;
  }
  std::optional<Metadata> meta;
  if (!ReadString(ctx, a[1], &meta)) return;
  std::string value = meta ? std::move(meta->value) : std::string();
  // As in Redis, a write grows the string to its highest field first, whatever overflow
  // says about each field.
  const size_t old_size = value.size();
  bool changed = false;
  for (const FieldOp& op : ops) {
    const uint64_t need = (op.offset + op.bits + 7) / 8;
    if (op.kind != FieldOp::kGet && value.size() < need) value.resize(need, '\0');
  }
  ctx.out->Array(ops.size());
  for (const FieldOp& op : ops) {
    const uint64_t raw = ReadField(value, op.offset, op.bits);
    const int64_t old = op.is_signed ? SignExtend(raw, op.bits) : static_cast<int64_t>(raw);
    if (op.kind == FieldOp::kGet) {
      ctx.out->Integer(old);
      continue;
    }
    const __int128 wanted = op.kind == FieldOp::kSet
                                ? static_cast<__int128>(op.value)
                                : static_cast<__int128>(old) + static_cast<__int128>(op.value);
    int64_t stored = 0;
    if (!FitField(wanted, op.is_signed, op.bits, op.overflow, &stored)) {
      ctx.out->Null();
      continue;
    }
    WriteField(&value, op.offset, op.bits, static_cast<uint64_t>(stored));
    changed = true;
    ctx.out->Integer(op.kind == FieldOp::kSet ? old : stored);
  }
  // Nothing to write when every write failed (OVERFLOW FAIL) on a string that did not grow:
  // the key is not touched (WATCH sees no change), as in Redis.
  if (writes && (changed || value.size() != old_size || !meta)) StoreBits(ctx, a[1], meta, value);
}

// Counts set bits in bytes [first, last] of `value`.
uint64_t PopCount(std::string_view value, uint64_t first, uint64_t last) {
  uint64_t count = 0;
  for (uint64_t i = first; i <= last; i++) {
    count += static_cast<uint64_t>(std::popcount(static_cast<uint8_t>(value[i])));
  }
  return count;
}

}  // namespace

size_t MaxStringValueBytes(const CommandContext& ctx) {
  // A string's metadata record holds a 9-byte header before the value.
  constexpr size_t kHeader = 9;
  const size_t engine = ctx.server->config.engine_max_value_bytes;
  return std::min<size_t>(512ull << 20, engine > kHeader ? engine - kHeader : 0);
}

void CmdSetBit(CommandContext& ctx) {
  uint64_t offset = 0;
  if (!ParseBitOffset(ctx, ctx.args[2], false, 1, &offset)) return ctx.out->Error(kErrBitOffset);
  const std::string& bit = ctx.args[3];
  if (bit != "0" && bit != "1") return ctx.out->Error("ERR bit is not an integer or out of range");
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  std::string value = meta ? std::move(meta->value) : std::string();
  const uint64_t need = (offset >> 3) + 1;
  const bool grows = !meta || value.size() < need;
  if (value.size() < need) value.resize(need, '\0');
  const bool old = GetBit(value, offset);
  // As in Redis, setting a bit to what it is changes nothing (WATCH sees no write).
  if (grows || old != (bit == "1")) {
    SetBit(&value, offset, bit == "1");
    StoreBits(ctx, ctx.args[1], meta, value);
  }
  ctx.out->Integer(old ? 1 : 0);
}

void CmdGetBit(CommandContext& ctx) {
  uint64_t offset = 0;
  if (!ParseBitOffset(ctx, ctx.args[2], false, 1, &offset)) return ctx.out->Error(kErrBitOffset);
  std::optional<Metadata> meta;
  if (!ReadString(ctx, ctx.args[1], &meta)) return;
  ctx.out->Integer(meta && GetBit(meta->value, offset) ? 1 : 0);
}

void CmdBitCount(CommandContext& ctx) {
  const auto& a = ctx.args;
  std::optional<Metadata> meta;
  if (!ReadString(ctx, a[1], &meta)) return;
  if (!meta) return ctx.out->Integer(0);
  if (a.size() == 3 || a.size() > 5) return ctx.out->Error(kErrSyntax);
  int64_t start = 0, end = -1;
  bool has_end = false, bit_unit = false;
  if (!ParseBitRangeArgs(ctx, 2, &start, &end, &has_end, &bit_unit)) return;
  const std::string& value = meta->value;
  const int64_t bytes = static_cast<int64_t>(value.size());
  int64_t first = 0, last = 0;
  if (!NormalizeBitRange(start, end, bit_unit ? bytes * 8 : bytes, true, &first, &last)) {
    return ctx.out->Integer(0);
  }
  if (!bit_unit) {
    return ctx.out->Integer(static_cast<int64_t>(
        PopCount(value, static_cast<uint64_t>(first), static_cast<uint64_t>(last))));
  }
  uint64_t count = 0;
  uint64_t bit = static_cast<uint64_t>(first);
  const uint64_t stop = static_cast<uint64_t>(last);
  for (; bit <= stop && (bit & 7) != 0; bit++) count += GetBit(value, bit) ? 1 : 0;
  if (bit + 7 <= stop) {
    const uint64_t whole_last = (stop + 1) / 8 - 1;
    count += PopCount(value, bit / 8, whole_last);
    bit = (whole_last + 1) * 8;
  }
  for (; bit <= stop; bit++) count += GetBit(value, bit) ? 1 : 0;
  ctx.out->Integer(static_cast<int64_t>(count));
}

void CmdBitPos(CommandContext& ctx) {
  const auto& a = ctx.args;
  if (a.size() > 6) return ctx.out->Error(kErrSyntax);
  int64_t target = 0;
  if (!ParseInt64(a[2], &target)) return ctx.out->Error(kErrNotInteger);
  if (target != 0 && target != 1) return ctx.out->Error("ERR The bit argument must be 1 or 0.");
  std::optional<Metadata> meta;
  if (!ReadString(ctx, a[1], &meta)) return;
  if (!meta) return ctx.out->Integer(target == 1 ? -1 : 0);
  int64_t start = 0, end = -1;
  bool has_end = false, bit_unit = false;
  if (!ParseBitRangeArgs(ctx, 3, &start, &end, &has_end, &bit_unit)) return;
  const std::string& value = meta->value;
  const int64_t bytes = static_cast<int64_t>(value.size());
  int64_t first = 0, last = 0;
  if (!NormalizeBitRange(start, end, bit_unit ? bytes * 8 : bytes, false, &first, &last)) {
    return ctx.out->Integer(-1);
  }
  const uint64_t first_bit = bit_unit ? static_cast<uint64_t>(first) : first * 8ull;
  const uint64_t last_bit = bit_unit ? static_cast<uint64_t>(last) : last * 8ull + 7;
  uint64_t bit = first_bit;
  // Skip whole bytes that cannot hold the bit, then look bit by bit.
  const char skip = target == 1 ? '\0' : '\xff';
  while (bit <= last_bit) {
    if ((bit & 7) == 0 && bit + 7 <= last_bit && value[bit >> 3] == skip) {
      bit += 8;
      continue;
    }
    if (GetBit(value, bit) == (target == 1)) return ctx.out->Integer(static_cast<int64_t>(bit));
    bit++;
  }
  // Looking for a clear bit without an explicit end: the string reads as padded with zeros.
  if (target == 0 && !has_end) return ctx.out->Integer(static_cast<int64_t>(last_bit + 1));
  ctx.out->Integer(-1);
}

void CmdBitOp(CommandContext& ctx) {
  const auto& a = ctx.args;
  const std::string op = Lower(a[1]);
  if (op != "and" && op != "or" && op != "xor" && op != "not") return ctx.out->Error(kErrSyntax);
  if (op == "not" && a.size() != 4) {
    return ctx.out->Error("ERR BITOP NOT must be called with a single source key.");
  }
  std::vector<std::string> sources;
  size_t longest = 0;
  for (size_t i = 3; i < a.size(); i++) {
    std::optional<Metadata> meta;
    if (!ReadString(ctx, a[i], &meta)) return;
    sources.push_back(meta ? std::move(meta->value) : std::string());
    longest = std::max(longest, sources.back().size());
  }
  std::string result(longest, '\0');
  for (size_t j = 0; j < longest; j++) {
    auto byte = [&](size_t k) -> uint8_t {
      return j < sources[k].size() ? static_cast<uint8_t>(sources[k][j]) : 0;
    };
    uint8_t v = byte(0);
    if (op == "not") v = static_cast<uint8_t>(~v);
    for (size_t k = 1; k < sources.size(); k++) {
      if (op == "and") v &= byte(k);
      if (op == "or") v |= byte(k);
      if (op == "xor") v ^= byte(k);
    }
    result[j] = static_cast<char>(v);
  }
  Status s = DeleteAnyKey(ctx, a[2]);
  if (!s.ok()) return ReplyStatus(ctx.out, s);
  if (!result.empty()) ctx.txn->PutString(a[2], result, 0);
  ctx.out->Integer(static_cast<int64_t>(result.size()));
}

void CmdBitField(CommandContext& ctx) { BitFieldGeneric(ctx, false); }
void CmdBitFieldRo(CommandContext& ctx) { BitFieldGeneric(ctx, true); }

}  // namespace cloudkv::server
