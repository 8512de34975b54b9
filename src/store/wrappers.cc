// SPDX-License-Identifier: Apache-2.0
// ApplyStoreWrappers: the store URL's query options that select wrappers
// (docs/object-stores.md, "Wrappers"). The chain, innermost first:
//   base -> FaultInjectingStore (faults=) -> LatencyStore (simulate=) -> CountingStore (count=)
// so simulated latency applies to failed requests too, and the counters see every request the
// caller made, as a bill would.
#include <set>

#include "store/counting_store.h"
#include "store/fault_injecting_store.h"
#include "store/latency_store.h"
#include "store/stores.h"
#include "util/logging.h"
#include "util/random.h"
#include "util/status_macros.h"

namespace cloudkv {
namespace {

// Removes `name` from `params` and returns its value, or nullopt if absent.
std::optional<std::string> Take(std::map<std::string, std::string>* params,
                                const std::string& name) {
  auto it = params->find(name);
  if (it == params->end()) return std::nullopt;
  std::string value = std::move(it->second);
  params->erase(it);
  return value;
}

Status BadFaults(std::string_view spec, std::string_view why) {
  return Status::InvalidArgument("option 'faults': bad value '" + std::string(spec) +
                                 "': " + std::string(why) +
                                 " (expected e.g. put_error:0.01,put_lost:0.01,get_error:0.01; "
                                 "operations get, head, put, delete, list, all; faults error, "
                                 "lost, defer)");
}

}  // namespace

// Parses "OP_KIND:RATE[,OP_KIND:RATE...]" into `options`.
Status ParseFaultSpec(std::string_view spec, FaultOptions* options) {
  if (spec.empty()) return BadFaults(spec, "empty");
  std::set<std::string> seen;
  std::string_view rest = spec;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t colon = item.find(':');
    size_t underscore = item.find('_');
    if (colon == std::string_view::npos || underscore == std::string_view::npos ||
        underscore > colon) {
      return BadFaults(spec, "item '" + std::string(item) + "' is not OP_FAULT:RATE");
    }
    std::string op(item.substr(0, underscore));
    std::string kind(item.substr(underscore + 1, colon - underscore - 1));
    if (!seen.insert(op + "_" + kind).second) {
      return BadFaults(spec, "'" + op + "_" + kind + "' given twice");
    }
    Result<double> rate = ParseDoubleOption("faults", item.substr(colon + 1));
    if (!rate.ok() || *rate > 1) {
      return BadFaults(spec, "rate of '" + op + "_" + kind + "' must be a probability in [0, 1]");
    }
    std::vector<StoreOp> ops;
    for (size_t i = 0; i < kNumStoreOps; i++) {
      StoreOp candidate = static_cast<StoreOp>(i);
      bool mutates = candidate == StoreOp::kPut || candidate == StoreOp::kDelete;
      if (op == StoreOpName(candidate) || (op == "all" && (kind != "defer" || mutates))) {
        ops.push_back(candidate);
      }
    }
    if (ops.empty()) return BadFaults(spec, "unknown operation '" + op + "'");
    for (StoreOp target : ops) {
      FaultRates& r = options->For(target);
      if (kind == "error") {
        r.error = *rate;
      } else if (kind == "lost") {
        r.lost = *rate;
      } else if (kind == "defer") {
        if (target != StoreOp::kPut && target != StoreOp::kDelete) {
          return BadFaults(spec, "'defer' applies to put and delete only");
        }
        r.defer = *rate;
      } else {
        return BadFaults(spec, "unknown fault '" + kind + "'");
      }
    }
  }
  if (Status s = options->Validate(); !s.ok()) return BadFaults(spec, s.message());
  return Status::OK();
}

Result<std::shared_ptr<ObjectStore>> ApplyStoreWrappers(
    std::shared_ptr<ObjectStore> base, std::map<std::string, std::string>* params) {
  std::shared_ptr<ObjectStore> store = std::move(base);

  std::optional<std::string> faults = Take(params, "faults");
  std::optional<std::string> fault_seed = Take(params, "fault_seed");
  if (fault_seed && !faults) {
    return Status::InvalidArgument("option 'fault_seed' given without 'faults'");
  }
  if (faults) {
    FaultOptions options;
    RETURN_IF_ERROR(ParseFaultSpec(*faults, &options));
    if (fault_seed) {
      ASSIGN_OR_RETURN(options.seed, ParseUintOption("fault_seed", *fault_seed));
    } else {
      options.seed = RandomSeed();
    }
    LOG_WARN("{}: fault injection on (faults={} fault_seed={})", store->Describe(), *faults,
             options.seed);
    store = std::make_shared<FaultInjectingStore>(std::move(store), std::move(options));
  }

  std::optional<std::string> simulate = Take(params, "simulate");
  std::optional<std::string> simulate_seed = Take(params, "simulate_seed");
  if (simulate_seed && !simulate) {
    return Status::InvalidArgument("option 'simulate_seed' given without 'simulate'");
  }
  if (simulate && *simulate != "none") {
    ASSIGN_OR_RETURN(LatencyProfile profile, LatencyProfile::ByName(*simulate));
    uint64_t seed = 0;
    if (simulate_seed) {
      ASSIGN_OR_RETURN(seed, ParseUintOption("simulate_seed", *simulate_seed));
    } else {
      seed = RandomSeed();
    }
    store = std::make_shared<LatencyStore>(std::move(store), std::move(profile), seed);
  }

  if (std::optional<std::string> count = Take(params, "count")) {
    ASSIGN_OR_RETURN(bool enabled, ParseBoolOption("count", *count));
    if (enabled) store = std::make_shared<CountingStore>(std::move(store));
  }
  return store;
}

}  // namespace cloudkv
