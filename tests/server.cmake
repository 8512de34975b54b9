# SPDX-License-Identifier: Apache-2.0
# Tests of `cloudkv serve` and the `cloudkv` CLI with real clients (redis-cli, redis-py,
# redis-benchmark) and, for comparison, a real redis-server. Included from tests/extra.cmake.
# The server's unit tests link its library.
foreach(test server_resp_test server_glob_test server_key_locks_test server_durability_tracker_test
        server_txn_test server_collections_test)
  if(TARGET ${test})
    target_link_libraries(${test} PRIVATE cloudkv_server)
  endif()
endforeach()
if(TARGET cli_json_writer_test AND TARGET cloudkv_cli)
  target_link_libraries(cli_json_writer_test PRIVATE cloudkv_cli)
endif()
if(NOT TARGET cloudkv-cli)
  return()
endif()
set(_redis_dir ${CMAKE_SOURCE_DIR}/tests/redis)
set(_python /usr/bin/python3)
foreach(suite cli_cases commands types pipelines robustness benchmark crash cli inspect lifecycle
        cli_product limits hostile)
  add_test(NAME server_redis_${suite}
           COMMAND ${_python} ${_redis_dir}/run_${suite}.py --cloudkv $<TARGET_FILE:cloudkv-cli>
           WORKING_DIRECTORY ${_redis_dir})
  set_tests_properties(server_redis_${suite} PROPERTIES LABELS "server" TIMEOUT 900)
endforeach()
set_tests_properties(server_redis_benchmark server_redis_crash PROPERTIES LABELS "server;slow")
