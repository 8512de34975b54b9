// SPDX-License-Identifier: Apache-2.0
// Uses only the installed public headers: opens an in-memory object store, writes an object,
// reads it back and prints it. Prints "greeting = hello from cloudkv" on success.
#include <cstdio>

#include "cloudkv/object_store.h"

int main() {
  auto store = cloudkv::OpenObjectStore("memory://example");
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto etag = (*store)->Put("greeting", "hello from cloudkv");
  if (!etag.ok()) {
    std::fprintf(stderr, "put: %s\n", etag.status().ToString().c_str());
    return 1;
  }
  auto got = (*store)->Get("greeting");
  if (!got.ok()) {
    std::fprintf(stderr, "get: %s\n", got.status().ToString().c_str());
    return 1;
  }
  std::printf("greeting = %s\n", got->data.c_str());
  return 0;
}
