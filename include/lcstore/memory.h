// Process-wide memory settings for programs that read and write arrays.
#pragma once

namespace lcstore {

// Every chunk read-modify-write allocates and frees buffers of a chunk's size
// (hundreds of KiB). By default glibc hands blocks that large back to the
// kernel (mmap, heap trimming), so each next chunk page-faults its memory in
// again; on virtualised hosts that costs more than the write itself (see
// BENCHMARKS.md). Call once at start to keep freed memory in the process instead.
// lcstore's own programs do; a library user decides for their process.
void keep_freed_memory();

}  // namespace lcstore
