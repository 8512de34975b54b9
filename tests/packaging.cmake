# SPDX-License-Identifier: Apache-2.0
# Packaging check (included from tests/extra.cmake).

# Packaging: install into a temporary prefix and build examples/consumer against it. A library
# built with sanitizers needs a consumer linked with the same sanitizers.
set(consumer_flags "")
if(CLOUDKV_SANITIZE)
  set(consumer_flags "-fsanitize=${CLOUDKV_SANITIZE} -fno-omit-frame-pointer")
endif()
add_test(NAME install_consumer
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install_consumer.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CXX_COMPILER} "${consumer_flags}")
set_tests_properties(install_consumer PROPERTIES LABELS "packaging" TIMEOUT 600)

# `eval "$(scripts/s3-server start)"` must give cloudkv the AWS_* variables it reads.
add_test(NAME s3_server_exports_aws_env
         COMMAND bash -c "out=$(${CMAKE_SOURCE_DIR}/scripts/s3-server status) && for v in AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; do grep -q \"^export $v=\" <<<\"$out\" || { echo \"missing $v\"; exit 1; }; done")
set_tests_properties(s3_server_exports_aws_env PROPERTIES LABELS "s3")
