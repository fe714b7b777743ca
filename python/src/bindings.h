// The pieces of the lcstore._lcstore extension, one function per file.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <memory>
#include <utility>

namespace lcstore::python {

namespace nb = nanobind;

// lcstore::Error raised into Python as the lcstore.errors class of its kind.
void bind_errors(nb::module_& module);
// catalog::Table, read_catalog and the object table of a catalog.
void bind_tables(nb::module_& module);
// LightCurveStore.
void bind_store(nb::module_& module);

// A one-dimensional numpy array that owns `values` (moved, not copied).
template <typename Vector>
auto to_numpy(Vector&& values) {
  using T = typename std::decay_t<Vector>::value_type;
  auto* owned = new std::decay_t<Vector>(std::forward<Vector>(values));
  nb::capsule owner(owned, [](void* pointer) noexcept { delete static_cast<std::decay_t<Vector>*>(pointer); });
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(owned->data(), {owned->size()}, owner);
}

}  // namespace lcstore::python
