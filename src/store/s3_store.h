// SPDX-License-Identifier: Apache-2.0
// s3://bucket/prefix: the ObjectStore backend for Amazon S3 and S3-compatible servers
// (Ceph RGW, MinIO, R2, ...). See docs/object-stores-s3.md for configuration, the conditional
// operations each provider supports, and how quirks and retries are handled.
//
// Semantics beyond the ObjectStore contract:
//   - Keys are stored under the URL's prefix; List strips it again.
//   - Etags are returned without quotes.
//   - Unconditional puts larger than multipart_threshold use a multipart upload (parts in
//     parallel; aborted on failure so no upload is left behind). Conditional puts are always a
//     single PUT, whatever their size, because servers differ on conditions at completion.
//   - Whole-object gets larger than parallel_get_part_size fetch ranges in parallel.
//   - A conditional put whose earlier attempt may have landed (lost response, 5xx) and that now
//     gets 412 reads the object back: identical bytes mean it was our own write (the engine
//     puts a nonce in every object, so equal bytes identify the writer).
//
// Thread-safety: safe for concurrent use; requests run in parallel up to max_connections.
#ifndef CLOUDKV_STORE_S3_STORE_H_
#define CLOUDKV_STORE_S3_STORE_H_

#include <memory>

#include "cloudkv/object_store.h"
#include "store/s3_config.h"

namespace cloudkv {

// Creates the store from a resolved configuration (no network traffic until the first call).
std::shared_ptr<ObjectStore> NewS3StoreFromConfig(S3Config config);

}  // namespace cloudkv

#endif  // CLOUDKV_STORE_S3_STORE_H_
