#include <Python.h>
#include <nanobind/stl/string.h>

#include "bindings.h"
#include "lcstore/error.h"

namespace lcstore::python {

void bind_errors(nb::module_&) {
  nb::register_exception_translator([](const std::exception_ptr& exception, void*) {
    try {
      std::rethrow_exception(exception);
    } catch (const Error& error) {
      // The exception classes live in Python (lcstore/errors.py) so that they
      // can also derive from KeyError, ValueError or OSError.
      nb::object make = nb::module_::import_("lcstore.errors").attr("from_native");
      nb::object raised = make(to_string(error.kind()), error.subject(), error.reason());
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(raised.ptr())), raised.ptr());
    }
  });
}

}  // namespace lcstore::python
