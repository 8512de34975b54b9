// SPDX-License-Identifier: Apache-2.0
// The server's names for the Redis key encoding it shares with the command line
// (redis/key_encoding.h, which specifies it).
#ifndef CLOUDKV_SERVER_KEY_ENCODING_H_
#define CLOUDKV_SERVER_KEY_ENCODING_H_

#include "redis/key_encoding.h"

namespace cloudkv::server {

using redis::AppendStringMetadata;
using redis::DecodeMetadata;
using redis::DecodeOwnedMetadata;
using redis::EncodeMetadata;
using redis::FieldKey;
using redis::FieldPrefix;
using redis::IsCollection;
using redis::kFieldPrefix;
using redis::kListInitialHead;
using redis::kMetaEnd;
using redis::kMetaPrefix;
using redis::ListElementKey;
using redis::Metadata;
using redis::MetaKey;
using redis::NewExpiryCompactionFilter;
using redis::NowMs;
using redis::TypeName;
using redis::ValueType;
using redis::VersionAllocator;
using redis::ZSetIndexKey;
using redis::ZSetIndexLowerBound;
using redis::ZSetIndexPrefix;
using redis::ZSetMemberKey;

}  // namespace cloudkv::server

#endif  // CLOUDKV_SERVER_KEY_ENCODING_H_
