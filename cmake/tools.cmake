# SPDX-License-Identifier: Apache-2.0
# Executables, on the public library.
# The Redis-protocol server (src/server) and the `cloudkv` command line (src/cli).
find_package(CLI11 CONFIG REQUIRED)
find_library(HTTPLIB_LIBRARY NAMES cpp-httplib REQUIRED)
if(TARGET cloudkv_server)
  target_compile_definitions(cloudkv_server PUBLIC ASIO_STANDALONE ASIO_NO_DEPRECATED
                             CLOUDKV_VERSION="${PROJECT_VERSION}")
  target_link_libraries(cloudkv_server PUBLIC cloudkv_redis ${HTTPLIB_LIBRARY} Threads::Threads)
endif()
if(TARGET cloudkv_cli AND TARGET cloudkv_server)
  target_link_libraries(cloudkv_cli PUBLIC cloudkv_server cloudkv_redis CLI11::CLI11)
  add_executable(cloudkv-cli src/cli/main/cloudkv_main.cc)
  target_link_libraries(cloudkv-cli PRIVATE cloudkv_cli)
  set_target_properties(cloudkv-cli PROPERTIES OUTPUT_NAME cloudkv)
  install(TARGETS cloudkv-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The S3 store microbenchmark.
include(${CMAKE_SOURCE_DIR}/cmake/s3_bench.cmake OPTIONAL)
