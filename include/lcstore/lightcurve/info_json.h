// StoreInfo as JSON: what `lcstore info --json`, the server's /api/info and
// the Python package's Store.info() show, in one form.
#pragma once

// This header exists to turn StoreInfo into JSON.
#include <nlohmann/json.hpp>

#include "lcstore/lightcurve/light_curve_store.h"

namespace lcstore::lightcurve {

// {"array", "status", and unless absent "shape", "chunks", "shards" (when
// sharded), "codecs"}.
nlohmann::json to_json(const LayoutInfo& layout);
// Every field of StoreInfo under its own name (first_and_last_object as
// "object_keys"), with "dimensions" and "queries_use" besides.
nlohmann::json to_json(const StoreInfo& info);

}  // namespace lcstore::lightcurve
