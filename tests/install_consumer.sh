#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Packaging check: installs a built cloudkv into a temporary prefix and checks the install
# tree (the cloudkv binary runs, headers, CMake package, pkg-config file, LICENSE); builds
# examples/consumer against it with find_package(cloudkv), and examples/tour with pkg-config,
# runs both and checks their output; compiles the README's C++ snippet with -Wall -Wextra
# -Werror against the installed headers.
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
for f in bin/cloudkv lib/pkgconfig/cloudkv.pc lib/cmake/cloudkv/cloudkvConfig.cmake \
         share/doc/cloudkv/LICENSE share/doc/cloudkv/NOTICE; do
  test -f "$tmp/prefix/$f" || { echo "install_consumer: $f was not installed" >&2; exit 1; }
done
# The installed binary runs from the prefix, with the installed library (its RPATH).
version=$(env -u LD_LIBRARY_PATH "$tmp/prefix/bin/cloudkv" --version) ||
  { echo "install_consumer: installed cloudkv does not run" >&2; exit 1; }
[[ $version == "cloudkv "* ]] || { echo "install_consumer: --version said '$version'" >&2; exit 1; }
grep -q "Apache License" "$tmp/prefix/share/doc/cloudkv/LICENSE" ||
  { echo "install_consumer: LICENSE is not the Apache License" >&2; exit 1; }

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

# pkg-config: the tour example, compiled and linked with nothing but what pkg-config says.
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
read -r -a pc_flags <<<"$(pkg-config --cflags --libs cloudkv)"
read -r -a extra <<<"$flags"
"$compiler" "${extra[@]}" -Wall -Wextra -Werror "$source_dir/examples/tour/tour.cc" \
  "${pc_flags[@]}" -Wl,-rpath,"$tmp/prefix/lib" -o "$tmp/tour" ||
  { echo "install_consumer: the tour does not build with pkg-config" >&2; exit 1; }
tour=$("$tmp/tour" "memory://install-check")
[[ $tour == *"apple at the snapshot = red, now = (absent)"* ]] ||
  { echo "install_consumer: unexpected tour output: $tour" >&2; exit 1; }

# The README's C++ snippet compiles without warnings against the installed headers.
awk '/^```cpp$/{on=1; next} /^```$/{on=0} on' "$source_dir/README.md" >"$tmp/readme.cc"
test -s "$tmp/readme.cc" || { echo "install_consumer: no C++ snippet in README.md" >&2; exit 1; }
"$compiler" "${extra[@]}" -Wall -Wextra -Werror "$tmp/readme.cc" "${pc_flags[@]}" \
  -Wl,-rpath,"$tmp/prefix/lib" -o "$tmp/readme" ||
  { echo "install_consumer: the README snippet does not compile cleanly" >&2; exit 1; }
echo "install_consumer: OK ($out; pkg-config tour; README snippet)"
