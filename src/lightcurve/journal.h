// The populate journal of a light-curve store: which (epoch, catalog)
// populates completed, and a generation number that every populate bumps
// when it starts and when it completes, so the read layout can tell whether
// it is still current.
//
// One JSON document beside the zarr nodes (`.lcstore/journal.json`), changed
// only by read-modify-write under the store lock `.lcstore`, slot 0, so any
// number of processes may journal at once.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "lcstore/storage/store.h"

namespace lcstore::lightcurve {

class Journal {
 public:
  explicit Journal(Store& store) : store_(store) {}

  // The recorded state; {"generation": 0, "epochs": {}} for a new store.
  nlohmann::json read() const;
  uint64_t generation() const;
  // Whether `entry_id` is recorded as completed for `epoch`.
  bool completed(const std::string& epoch, const std::string& entry_id) const;
  // A change of the light curves is starting: bumps the generation and
  // returns the new one.
  uint64_t begin();
  // A populate completed: bumps the generation and records `details` under
  // (epoch, entry_id) unless entry_id is empty (an unjournaled populate).
  void complete(const std::string& epoch, const std::string& entry_id, nlohmann::json details);

 private:
  void change(const std::function<void(nlohmann::json&)>& edit);

  Store& store_;
};

}  // namespace lcstore::lightcurve
