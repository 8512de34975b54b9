// SPDX-License-Identifier: Apache-2.0
// Header, footer, handle and block-trailer codecs (docs/format-sst.md).
//
//   header  := magic:fixed64 format_version:fixed32 reserved:fixed32(0) epoch:fixed64
//              nonce:fixed64                                               (32 bytes)
//   handle  := offset:varint64 size:varint64                               (index values)
//   stored block := payload type:uint8 checksum:fixed32
//              checksum = low 32 bits of XXH3-64(payload || type)
//              payload  = raw block                         (type 0, none)
//                       | raw_size:varint32 lz4_block       (type 1, lz4)
//                       | raw_size:varint32 zstd_frame      (type 2, zstd)
//   footer  := filter_offset filter_size properties_offset properties_size index_offset
//              index_size epoch nonce :fixed64 each, header_checksum:fixed32
//              format_version:fixed32 metadata_checksum:fixed64 magic:fixed64  (88 bytes)
#include "format/sst_format.h"

#include <lz4.h>
#include <zstd.h>

#include <cassert>
#include <memory>

#include "util/coding.h"
#include "util/hash.h"

namespace cloudkv {
namespace {

// Measured on 4 KiB blocks of typical keys/values (see docs/format-sst.md): level 1 compresses
// about 2x faster than level 3 for a ratio within a few percent.
constexpr int kZstdLevel = 1;

struct ZstdContexts {
  ZSTD_CCtx* cctx = nullptr;
  ZSTD_DCtx* dctx = nullptr;
  ~ZstdContexts() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};

ZstdContexts& ThreadZstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

}  // namespace

void EncodeSstHeader(const SstHeader& header, std::string* out) {
  PutFixed64(out, kSstMagic);
  PutFixed32(out, header.format_version);
  PutFixed32(out, 0);
  PutFixed64(out, header.epoch);
  PutFixed64(out, header.nonce);
}

Status DecodeSstHeader(std::string_view bytes, SstHeader* header) {
  if (bytes.size() < kSstHeaderSize) return Status::Corruption("SST header truncated");
  if (DecodeFixed64(bytes.data()) != kSstMagic) return Status::Corruption("bad SST header magic");
  header->format_version = DecodeFixed32(bytes.data() + 8);
  header->epoch = DecodeFixed64(bytes.data() + 16);
  header->nonce = DecodeFixed64(bytes.data() + 24);
  if (header->format_version < kSstFormatVersion || header->format_version > kSstMaxFormatVersion) {
    return Status::Corruption("unsupported SST format version " +
                              std::to_string(header->format_version));
  }
  return Status::OK();
}

void EncodeSstFooter(SstFooter footer, std::string_view metadata, std::string* out) {
  const size_t start = out->size();
  for (const BlockHandle* h : {&footer.filter, &footer.properties, &footer.index}) {
    PutFixed64(out, h->offset);
    PutFixed64(out, h->size);
  }
  PutFixed64(out, footer.epoch);
  PutFixed64(out, footer.nonce);
  PutFixed32(out, footer.header_checksum);
  PutFixed32(out, footer.format_version);
  const uint64_t checksum =
      Checksum64(std::string_view(out->data() + start, 72), Checksum64(metadata));
  PutFixed64(out, checksum);
  PutFixed64(out, kSstMagic);
  assert(out->size() - start == kSstFooterSize);
}

Status DecodeSstFooter(std::string_view bytes, SstFooter* footer) {
  if (bytes.size() != kSstFooterSize) return Status::Corruption("SST footer truncated");
  const char* p = bytes.data();
  if (DecodeFixed64(p + 80) != kSstMagic) return Status::Corruption("bad SST footer magic");
  BlockHandle* handles[] = {&footer->filter, &footer->properties, &footer->index};
  for (int i = 0; i < 3; i++) {
    handles[i]->offset = DecodeFixed64(p + 16 * i);
    handles[i]->size = DecodeFixed64(p + 16 * i + 8);
  }
  footer->epoch = DecodeFixed64(p + 48);
  footer->nonce = DecodeFixed64(p + 56);
  footer->header_checksum = DecodeFixed32(p + 64);
  footer->format_version = DecodeFixed32(p + 68);
  footer->metadata_checksum = DecodeFixed64(p + 72);
  if (footer->format_version < kSstFormatVersion || footer->format_version > kSstMaxFormatVersion) {
    return Status::Corruption("unsupported SST format version " +
                              std::to_string(footer->format_version));
  }
  return Status::OK();
}

bool VerifySstMetadata(std::string_view metadata, std::string_view footer_bytes) {
  assert(footer_bytes.size() == kSstFooterSize);
  const uint64_t expected = DecodeFixed64(footer_bytes.data() + 72);
  return Checksum64(footer_bytes.substr(0, 72), Checksum64(metadata)) == expected;
}

namespace {

// Integer properties by name; the order is the encoding order.
struct IntProperty {
  const char* name;
  uint64_t SstProperties::*field;
};
constexpr IntProperty kIntProperties[] = {
    {"num_entries", &SstProperties::num_entries},
    {"num_deletions", &SstProperties::num_deletions},
    {"num_range_deletions", &SstProperties::num_range_deletions},
    {"raw_key_bytes", &SstProperties::raw_key_bytes},
    {"raw_value_bytes", &SstProperties::raw_value_bytes},
    {"data_bytes", &SstProperties::data_bytes},
    {"index_bytes", &SstProperties::index_bytes},
    {"filter_bytes", &SstProperties::filter_bytes},
    {"smallest_seq", &SstProperties::smallest_seq},
    {"largest_seq", &SstProperties::largest_seq},
    {"create_time_micros", &SstProperties::create_time_micros},
    {"epoch", &SstProperties::epoch},
    {"nonce", &SstProperties::nonce},
};

}  // namespace

void EncodeSstProperties(const SstProperties& props, std::string* out) {
  std::string value;
  for (const IntProperty& p : kIntProperties) {
    value.clear();
    PutVarint64(&value, props.*p.field);
    PutLengthPrefixed(out, p.name);
    PutLengthPrefixed(out, value);
  }
  PutLengthPrefixed(out, "smallest_key");
  PutLengthPrefixed(out, props.smallest_key);
  PutLengthPrefixed(out, "largest_key");
  PutLengthPrefixed(out, props.largest_key);
}

Status DecodeSstProperties(std::string_view bytes, SstProperties* props) {
  *props = SstProperties();
  while (!bytes.empty()) {
    std::string_view name, value;
    if (!GetLengthPrefixed(&bytes, &name) || !GetLengthPrefixed(&bytes, &value)) {
      return Status::Corruption("bad SST properties block");
    }
    if (name == "smallest_key") {
      props->smallest_key = value;
      continue;
    }
    if (name == "largest_key") {
      props->largest_key = value;
      continue;
    }
    for (const IntProperty& p : kIntProperties) {
      if (name != p.name) continue;
      if (!GetVarint64(&value, &(props->*p.field)) || !value.empty()) {
        return Status::Corruption("bad SST property " + std::string(name));
      }
      break;
    }
  }
  return Status::OK();
}

void EncodeBlockHandle(const BlockHandle& handle, std::string* out) {
  PutVarint64(out, handle.offset);
  PutVarint64(out, handle.size);
}

bool DecodeBlockHandle(std::string_view* input, BlockHandle* handle) {
  return GetVarint64(input, &handle->offset) && GetVarint64(input, &handle->size);
}

void AppendCompressedBlock(std::string_view raw, Compression type, std::string* scratch,
                           std::string* out) {
  assert(raw.size() <= kMaxBlockBytes);
  std::string_view payload = raw;
  Compression used = Compression::kNone;
  if (type != Compression::kNone && raw.size() >= 64) {
    scratch->clear();
    PutVarint32(scratch, static_cast<uint32_t>(raw.size()));
    const size_t prefix = scratch->size();
    size_t compressed = 0;
    bool ok = false;
    if (type == Compression::kZstd) {
      ZstdContexts& z = ThreadZstd();
      if (z.cctx == nullptr) z.cctx = ZSTD_createCCtx();
      scratch->resize(prefix + ZSTD_compressBound(raw.size()));
      compressed = ZSTD_compressCCtx(z.cctx, scratch->data() + prefix, scratch->size() - prefix,
                                     raw.data(), raw.size(), kZstdLevel);
      ok = z.cctx != nullptr && !ZSTD_isError(compressed);
    } else if (type == Compression::kLz4) {
      scratch->resize(prefix + LZ4_compressBound(static_cast<int>(raw.size())));
      const int n =
          LZ4_compress_default(raw.data(), scratch->data() + prefix, static_cast<int>(raw.size()),
                               static_cast<int>(scratch->size() - prefix));
      ok = n > 0;
      compressed = ok ? static_cast<size_t>(n) : 0;
    }
    // Keep the compressed form only if it saves at least 12.5%.
    if (ok && prefix + compressed <= raw.size() - raw.size() / 8) {
      scratch->resize(prefix + compressed);
      payload = *scratch;
      used = type;
    }
  }
  const size_t start = out->size();
  out->append(payload.data(), payload.size());
  out->push_back(static_cast<char>(used));
  PutFixed32(out, Checksum32(std::string_view(out->data() + start, payload.size() + 1)));
}

namespace {

// The most bytes `payload_bytes` of a compressed block can decompress to, so that a few
// stored bytes claiming a huge size are rejected before the output is allocated (found by
// fuzz/stored_block_fuzzer). zstd: every block of a frame has a 3-byte header and at least one
// byte of content, and holds at most 128 KiB. LZ4: one byte of length extension adds at most
// 255 bytes of output.
constexpr uint64_t kZstdMaxBlockBytes = 128 * 1024;  // ZSTD_BLOCKSIZE_MAX

uint64_t MaxDecompressedBytes(uint8_t type, size_t payload_bytes) {
  if (type == static_cast<uint8_t>(Compression::kZstd)) {
    return (payload_bytes / 4 + 1) * kZstdMaxBlockBytes;
  }
  return uint64_t{payload_bytes} * 255 + 64;
}

}  // namespace

Result<std::string> DecodeStoredBlock(std::string_view stored) {
  if (stored.size() < kBlockTrailerSize) return Status::Corruption("block truncated");
  const size_t n = stored.size() - kBlockTrailerSize;
  const uint32_t expected = DecodeFixed32(stored.data() + n + 1);
  if (Checksum32(stored.substr(0, n + 1)) != expected) {
    return Status::Corruption("block checksum mismatch");
  }
  const auto type = static_cast<uint8_t>(stored[n]);
  std::string_view payload = stored.substr(0, n);
  if (type == static_cast<uint8_t>(Compression::kNone)) return std::string(payload);
  uint32_t raw_size;
  if (!GetVarint32(&payload, &raw_size) || raw_size > kMaxBlockBytes ||
      raw_size > MaxDecompressedBytes(type, payload.size())) {
    return Status::Corruption("bad compressed block size");
  }
  std::string raw;
  raw.resize(raw_size);
  if (type == static_cast<uint8_t>(Compression::kZstd)) {
    ZstdContexts& z = ThreadZstd();
    if (z.dctx == nullptr) z.dctx = ZSTD_createDCtx();
    if (z.dctx == nullptr) return Status::IOError("cannot allocate a zstd context");
    const size_t got =
        ZSTD_decompressDCtx(z.dctx, raw.data(), raw.size(), payload.data(), payload.size());
    if (ZSTD_isError(got) || got != raw_size) {
      return Status::Corruption("zstd block does not decompress");
    }
  } else if (type == static_cast<uint8_t>(Compression::kLz4)) {
    const int got = LZ4_decompress_safe(
        payload.data(), raw.data(), static_cast<int>(payload.size()), static_cast<int>(raw.size()));
    if (got < 0 || static_cast<uint32_t>(got) != raw_size) {
      return Status::Corruption("lz4 block does not decompress");
    }
  } else {
    return Status::Corruption("unknown block compression type " + std::to_string(type));
  }
  return raw;
}

}  // namespace cloudkv
