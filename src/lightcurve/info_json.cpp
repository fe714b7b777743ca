#include "lcstore/lightcurve/info_json.h"

namespace lcstore::lightcurve {

using nlohmann::json;

namespace {

json range_json(const std::optional<std::pair<double, double>>& range) {
  return range ? json{range->first, range->second} : json::array();
}

}  // namespace

json to_json(const LayoutInfo& layout) {
  json out = {{"array", layout.array}, {"status", to_string(layout.status)}};
  if (layout.status == LayoutInfo::Status::kAbsent) return out;
  out["shape"] = layout.shape;
  out["chunks"] = layout.chunks;
  if (!layout.shards.empty()) out["shards"] = layout.shards;
  out["codecs"] = layout.codecs;
  return out;
}

json to_json(const StoreInfo& info) {
  json epoch_catalogs = json::object(), incomplete = json::object();
  for (const StoreInfo::EpochCatalogs& written : info.epoch_catalogs) {
    if (!written.catalogs.empty()) epoch_catalogs[written.epoch] = written.catalogs;
    if (!written.incomplete.empty()) incomplete[written.epoch] = written.incomplete;
  }
  return json{{"store", info.store},
              {"description", info.description},
              {"created", info.created},
              {"shape", info.shape},
              {"dimensions", {"object", "measurement", "value", "epoch"}},
              {"n_objects", info.n_objects},
              {"measurements", info.measurements},
              {"values", info.values},
              {"epochs", info.epochs},
              {"epoch_variables", info.epoch_variables},
              {"object_keys", info.first_and_last_object},
              {"ra_range", range_json(info.ra_range)},
              {"dec_range", range_json(info.dec_range)},
              {"write_layout", to_json(info.write_layout)},
              {"read_layout", to_json(info.read_layout)},
              {"queries_use", info.read_layout.status == LayoutInfo::Status::kCurrent ? "read layout" : "write layout"},
              {"populated_epochs", info.populated_epochs},
              {"epoch_catalogs", epoch_catalogs},
              {"incomplete_epochs", incomplete},
              {"journal_generation", info.journal_generation}};
}

}  // namespace lcstore::lightcurve
