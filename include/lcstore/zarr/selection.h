// Orthogonal selections: per dimension either a contiguous range or a list of
// indices (any order, repeats allowed for reads), like zarr-python's
// Array.oindex. The selected cells form a C-order block whose shape is the
// per-dimension counts.
#pragma once

#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

#include "lcstore/zarr/metadata.h"

namespace lcstore::zarr {

class DimSelection {
 public:
  // [start, stop)
  static DimSelection range(uint64_t start, uint64_t stop);
  static DimSelection indices(std::vector<uint64_t> indices);
  static DimSelection all(uint64_t extent) { return range(0, extent); }

  uint64_t count() const;
  // The i-th selected index.
  uint64_t operator[](uint64_t i) const;
  bool is_range() const { return std::holds_alternative<Range>(value_); }

 private:
  struct Range {
    uint64_t start;
    uint64_t stop;
  };
  std::variant<Range, std::vector<uint64_t>> value_;
};

using Selection = std::vector<DimSelection>;

// The whole of an array of this shape.
Selection select_all(const Shape& shape);
// The per-dimension counts of a selection.
Shape selection_shape(const Selection& selection);

// Calls visit(index) for every index of a grid of `extents`, in C order.
template <typename Visit>
void for_each_index(const Shape& extents, Visit&& visit) {
  for (uint64_t extent : extents) {
    if (extent == 0) return;
  }
  Shape index(extents.size(), 0);
  while (true) {
    visit(std::as_const(index));
    size_t d = extents.size();
    while (d > 0 && ++index[d - 1] == extents[d - 1]) index[--d] = 0;
    if (d == 0) return;
  }
}

}  // namespace lcstore::zarr
