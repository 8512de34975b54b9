// SPDX-License-Identifier: Apache-2.0
// Byte encodings shared by every on-storage format: little-endian fixed-width integers,
// LEB128 varints and length-prefixed strings. Decoders take untrusted input: every Get*
// function checks bounds and returns false (consuming nothing) on truncated or overlong data.
#ifndef CLOUDKV_UTIL_CODING_H_
#define CLOUDKV_UTIL_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cloudkv {

inline void EncodeFixed32(char* dst, uint32_t v) { std::memcpy(dst, &v, 4); }  // little-endian
inline void EncodeFixed64(char* dst, uint64_t v) { std::memcpy(dst, &v, 8); }
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "formats assume a little-endian host");

void PutFixed32(std::string* dst, uint32_t v);
void PutFixed64(std::string* dst, uint64_t v);
void PutVarint32(std::string* dst, uint32_t v);
void PutVarint64(std::string* dst, uint64_t v);
// varint32 length followed by the bytes.
void PutLengthPrefixed(std::string* dst, std::string_view value);

// Writes a varint to dst (at least 10 bytes free) and returns the byte after it.
char* EncodeVarint32(char* dst, uint32_t v);
char* EncodeVarint64(char* dst, uint64_t v);
int VarintLength(uint64_t v);

// Each consumes from the front of *input on success.
bool GetFixed32(std::string_view* input, uint32_t* value);
bool GetFixed64(std::string_view* input, uint64_t* value);
bool GetVarint32(std::string_view* input, uint32_t* value);
bool GetVarint64(std::string_view* input, uint64_t* value);
bool GetLengthPrefixed(std::string_view* input, std::string_view* result);

// Pointer-based decoding for hot paths: returns the byte after the varint, or nullptr if the
// varint is malformed or runs past limit.
const char* GetVarint32Ptr(const char* p, const char* limit, uint32_t* value);
const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* value);

}  // namespace cloudkv

#endif  // CLOUDKV_UTIL_CODING_H_
