// SPDX-License-Identifier: Apache-2.0
// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
#ifndef CLOUDKV_TESTS_SUPPORT_TEMP_DIR_H_
#define CLOUDKV_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace cloudkv {

class TempDir {
 public:
  // Creates "<tmp>/cloudkv-<name>-XXXXXX". Aborts the test program if that fails.
  explicit TempDir(std::string_view name);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Absolute path, without a trailing '/'.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cloudkv

#endif  // CLOUDKV_TESTS_SUPPORT_TEMP_DIR_H_
