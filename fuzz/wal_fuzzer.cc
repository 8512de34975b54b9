// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a WAL object (format/wal_format.h). When the first input byte is odd, the
// target first fixes every record checksum and the object checksum, so the record decoding
// and the write-batch validation are reached. A decoded object is encoded again (WalObjectBuilder
// or EncodeFence) and must encode to the same bytes and decode to the same batches.
#include <string>

#include "cloudkv/write_batch.h"
#include "format/wal_format.h"
#include "fuzz/fuzz_check.h"
#include "util/coding.h"
#include "util/hash.h"

using namespace cloudkv;

namespace {

void FixChecksums(std::string* bytes) {
  const size_t size = bytes->size();
  if (size < kWalHeaderBytes + kWalTrailerBytes) return;
  const size_t records_end = size - kWalTrailerBytes;
  size_t offset = kWalHeaderBytes;
  while (records_end - offset >= kWalRecordHeaderBytes + kWalRecordTrailerBytes) {
    const size_t length = DecodeFixed32(bytes->data() + offset + 20);
    const size_t record_bytes = kWalRecordHeaderBytes + length;
    if (record_bytes + kWalRecordTrailerBytes > records_end - offset) break;
    EncodeFixed32(bytes->data() + offset + record_bytes,
                  Checksum32(std::string_view(*bytes).substr(offset, record_bytes)));
    offset += record_bytes + kWalRecordTrailerBytes;
  }
  EncodeFixed64(bytes->data() + size - 8, Checksum64(std::string_view(*bytes).substr(0, size - 8)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(fuzz::AsView(data + 1, size - 1));
  if ((data[0] & 1) != 0) FixChecksums(&bytes);
  // The key names the id the header must hold.
  const uint64_t id = bytes.size() >= 24 ? DecodeFixed64(bytes.data() + 16) : 1;
  const std::string key = WalObjectKey(id);
  FUZZ_CHECK(ParseWalObjectKey(key).ok() && *ParseWalObjectKey(key) == id);
  auto object = DecodeWalObject(key, bytes);
  if (!object.ok()) {
    FUZZ_CHECK(object.status().IsCorruption());
    return 0;
  }
  FUZZ_CHECK(object->id == id);
  std::string encoded;
  if (object->fence) {
    FUZZ_CHECK(object->batches.empty());
    encoded = EncodeFence(object->id, object->epoch, object->nonce);
  } else {
    WalObjectBuilder builder(object->id, object->epoch, object->nonce);
    for (const WalBatch& b : object->batches) {
      WriteBatch batch;
      FUZZ_CHECK(batch.SetData(b.data, b.count).ok());
      builder.AddBatch(b.first_sequence, b.commit_time_micros, batch);
    }
    encoded = builder.Finish();
  }
  FUZZ_CHECK(encoded == bytes);
  auto again = DecodeWalObject(key, encoded);
  FUZZ_CHECK(again.ok() && again->batches.size() == object->batches.size());
  for (size_t i = 0; i < again->batches.size(); i++) {
    const WalBatch& a = again->batches[i];
    const WalBatch& b = object->batches[i];
    FUZZ_CHECK(a.first_sequence == b.first_sequence &&
               a.commit_time_micros == b.commit_time_micros && a.count == b.count &&
               a.data == b.data);
  }
  return 0;
}
