// SPDX-License-Identifier: Apache-2.0
// Helpers for propagating Status and Result<T>.
#ifndef CLOUDKV_UTIL_STATUS_MACROS_H_
#define CLOUDKV_UTIL_STATUS_MACROS_H_

#include "cloudkv/status.h"

#define CLOUDKV_CONCAT_INNER_(a, b) a##b
#define CLOUDKV_CONCAT_(a, b) CLOUDKV_CONCAT_INNER_(a, b)

// Returns the status of `expr` (a Status) from the enclosing function unless it is OK.
#define RETURN_IF_ERROR(expr)       \
  do {                              \
    ::cloudkv::Status _st = (expr); \
    if (!_st.ok()) return _st;      \
  } while (0)

// Evaluates `rexpr` (a Result<T>); returns its status if not OK, else moves the value to `lhs`.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL_(CLOUDKV_CONCAT_(_result_, __LINE__), lhs, rexpr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr)  \
  auto tmp = (rexpr);                            \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()

#endif  // CLOUDKV_UTIL_STATUS_MACROS_H_
