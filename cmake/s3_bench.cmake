# SPDX-License-Identifier: Apache-2.0
# The S3 store benchmark (docs/benchmarks-s3.md). Not a test: run it by hand against
# scripts/s3-server. Move into bench/CMakeLists.txt once that exists on main.
add_executable(s3_store_bench ${CMAKE_SOURCE_DIR}/bench/s3_store_bench.cc)
target_link_libraries(s3_store_bench PRIVATE cloudkv_internal)
