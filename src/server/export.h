// Light curves as a table file, one row per object, measurement and epoch,
// with the columns of `lcstore lightcurve`:
//   object, epoch, epoch_<variable>..., measurement, <values>...
// CSV is byte for byte what `lcstore lightcurve --format csv` prints; ECSV
// (astropy's text format) and VOTable 1.4 (TABLEDATA, what TOPCAT opens)
// carry the same cells with their types.
#pragma once

#include <string>
#include <vector>

#include "lcstore/lightcurve/light_curve_store.h"

namespace lcstore::server {

enum class ExportFormat { kCsv, kEcsv, kVotable };

const char* content_type(ExportFormat format);
const char* file_extension(ExportFormat format);

std::string export_light_curves(const lightcurve::LightCurveStore& store,
                                const std::vector<lightcurve::LightCurve>& curves, ExportFormat format);

}  // namespace lcstore::server
