# Executables. Each tool links the library (and its internal headers where needed).
add_executable(cloudkv-demo src/tools/demo.cc)
target_link_libraries(cloudkv-demo PRIVATE cloudkv)
include(${CMAKE_SOURCE_DIR}/cmake/s3_bench.cmake OPTIONAL)
