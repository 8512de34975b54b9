// cloudkv-demo: writes, reads back and scans a few objects through the object-store layer.
// `make run` runs it until the server lands. Usage: cloudkv-demo URL
#include <cstdio>

#include "cloudkv/object_store.h"

int main(int argc, char** argv) {
  const char* url = argc > 1 ? argv[1] : "file://./data";
  auto store = cloudkv::OpenObjectStore(url);
  if (!store.ok()) {
    std::fprintf(stderr, "cloudkv-demo: %s\n", store.status().ToString().c_str());
    return 1;
  }
  for (const char* key : {"demo/apple", "demo/banana", "demo/cherry"}) {
    auto etag = (*store)->Put(key, std::string("value of ") + key);
    if (!etag.ok()) {
      std::fprintf(stderr, "put %s: %s\n", key, etag.status().ToString().c_str());
      return 1;
    }
    std::printf("put  %s (etag %s)\n", key, etag->c_str());
  }
  auto got = (*store)->Get("demo/banana");
  if (!got.ok()) {
    std::fprintf(stderr, "get: %s\n", got.status().ToString().c_str());
    return 1;
  }
  std::printf("get  demo/banana -> %s\n", got->data.c_str());
  auto list = (*store)->List("demo/");
  if (!list.ok()) {
    std::fprintf(stderr, "list: %s\n", list.status().ToString().c_str());
    return 1;
  }
  for (const auto& obj : list->objects)
    std::printf("scan %s (%llu bytes)\n", obj.key.c_str(),
                static_cast<unsigned long long>(obj.size));
  return 0;
}
