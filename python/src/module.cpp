// lcstore._lcstore: the engine's types as the lcstore package uses them.
// The public, documented API is the Python package around it (python/lcstore).
#include "bindings.h"

NB_MODULE(_lcstore, module) {
  module.doc() = "The lcstore C++ engine; use the lcstore package, not this module.";
  lcstore::python::bind_errors(module);
  lcstore::python::bind_tables(module);
  lcstore::python::bind_store(module);
}
