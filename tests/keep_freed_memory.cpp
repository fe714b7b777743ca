// Linked into every test program: the same memory settings as the lcstore CLI.
#include "lcstore/memory.h"

namespace {
const bool configured = (lcstore::keep_freed_memory(), true);
}  // namespace
