#include "lcstore/zarr/selection.h"

#include "lcstore/error.h"

namespace lcstore::zarr {

DimSelection DimSelection::range(uint64_t start, uint64_t stop) {
  if (stop < start) {
    throw Error(ErrorKind::kInvalidArgument, "selection",
                "range stop " + std::to_string(stop) + " is before start " + std::to_string(start));
  }
  DimSelection selection;
  selection.value_ = Range{start, stop};
  return selection;
}

DimSelection DimSelection::indices(std::vector<uint64_t> indices) {
  DimSelection selection;
  selection.value_ = std::move(indices);
  return selection;
}

uint64_t DimSelection::count() const {
  if (const auto* range = std::get_if<Range>(&value_)) return range->stop - range->start;
  return std::get<std::vector<uint64_t>>(value_).size();
}

uint64_t DimSelection::operator[](uint64_t i) const {
  if (const auto* range = std::get_if<Range>(&value_)) return range->start + i;
  return std::get<std::vector<uint64_t>>(value_)[i];
}

Selection select_all(const Shape& shape) {
  Selection selection;
  for (uint64_t extent : shape) selection.push_back(DimSelection::all(extent));
  return selection;
}

Shape selection_shape(const Selection& selection) {
  Shape shape;
  for (const DimSelection& dimension : selection) shape.push_back(dimension.count());
  return shape;
}

}  // namespace lcstore::zarr
