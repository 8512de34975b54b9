# SPDX-License-Identifier: Apache-2.0
# Optional test groups kept in their own files.
include(${CMAKE_CURRENT_SOURCE_DIR}/server.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/packaging.cmake)
