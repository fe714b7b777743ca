// The libFuzzer entry point of one harness, chosen when compiled
// (LCSTORE_HARNESS, a function of harnesses.h).
#include "harnesses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lcstore::fuzz::LCSTORE_HARNESS({data, size});
  return 0;
}
