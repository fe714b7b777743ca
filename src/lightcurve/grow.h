// Growing a store along its epochs (LightCurveStore::add_epochs).
#pragma once

#include <memory>

#include "lcstore/storage/store.h"

namespace lcstore::lightcurve {

// Brings the zarr.json of every array with an epoch dimension to the shape
// the root's consolidated metadata records for it, where that is longer:
// finishes a growth whose writer was killed after publishing it. The caller
// holds the layout lock (layout::kLayoutLockSlot).
void complete_growth(const std::shared_ptr<Store>& store);

}  // namespace lcstore::lightcurve
