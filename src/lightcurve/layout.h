// Names and array definitions shared by the parts of the light-curve store.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lcstore/zarr/metadata.h"

namespace lcstore::lightcurve::layout {

constexpr const char* kWriteLayout = "lightcurves";
constexpr const char* kReadLayout = "lightcurves_by_object";
// Root group attribute marking a store lcstore made, with its format version.
constexpr const char* kFormatAttribute = "lcstore_format";
constexpr int kFormatVersion = 1;
// Slots of the store lock space ".lcstore" (the journal holds slot 0): one
// writer at a time changes the layouts' geometry (rechunk, growth) and the
// derived variables (zero points, features).
constexpr uint64_t kLayoutLockSlot = 1;
constexpr uint64_t kDerivedLockSlot = 2;
// Read layout attribute: the journal generation its data was copied at.
constexpr const char* kGenerationAttribute = "lcstore_generation";
// xarray's encoding of a NaN _FillValue in Zarr v3 attributes (base64 of the
// float64 NaN), as in zarr-python-3.0.6/xarray_lightcurves.zarr.
constexpr const char* kNanFillValueAttribute = "AAAAAAAA+H8=";

// A float32 light-curve array of `shape` [object, measurement, value,
// epoch] with `chunk_shape` and `codecs`, NaN-filled, with the attributes
// xarray expects (coordinates lists the non-dimension coordinates).
zarr::ArrayMetadata light_curve_array(const zarr::Shape& shape, const zarr::Shape& chunk_shape, nlohmann::json codecs,
                                      const std::string& coordinates);

// The fill value of a float32 array.
inline float float32_fill_value(const zarr::ArrayMetadata& metadata) {
  float fill;
  std::memcpy(&fill, metadata.fill_value.bytes(), sizeof fill);
  return fill;
}

}  // namespace lcstore::lightcurve::layout
