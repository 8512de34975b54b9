#!/usr/bin/env bash
# Packaging check: installs a built cloudkv into a temporary prefix, builds examples/consumer
# against it with find_package(cloudkv), runs it and checks its output.
# Usage: install_consumer.sh BUILD_DIR SOURCE_DIR CXX_COMPILER [CXX_FLAGS]
# CXX_FLAGS must carry the sanitizer flags when the library was built with sanitizers.
set -euo pipefail
build_dir=$1
source_dir=$2
compiler=$3
flags=${4:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cloudkv-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build_dir" --prefix "$tmp/prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log"; exit 1; }
test -f "$tmp/prefix/include/cloudkv/object_store.h" ||
  { echo "install_consumer: headers were not installed" >&2; exit 1; }

cmake -S "$source_dir/examples/consumer" -B "$tmp/build" \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_CXX_COMPILER="$compiler" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_BUILD_TYPE=Debug >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }

# The consumer must have found the installed copy, not the build tree.
grep -q "cloudkv_DIR:PATH=$tmp/prefix" "$tmp/build/CMakeCache.txt" ||
  { echo "install_consumer: find_package did not use the installed package" >&2; exit 1; }

out=$("$tmp/build/consumer")
if [[ $out != "greeting = hello from cloudkv" ]]; then
  echo "install_consumer: unexpected output: $out" >&2
  exit 1
fi
echo "install_consumer: OK ($out)"
