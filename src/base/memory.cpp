#include "lcstore/memory.h"

#include <malloc.h>

namespace lcstore {

void keep_freed_memory() {
  // Blocks up to 256 MiB come from the heap, and the heap keeps up to 1 GiB
  // of free memory before returning any to the kernel.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace lcstore
