// The one way lcstore runs work in parallel.
#pragma once

#include <cstddef>
#include <functional>

namespace lcstore {

// Calls work(item, worker) for every item in [0, count), on up to `threads`
// threads (the calling thread is one of them), each thread taking the next
// item. `worker` (0 .. threads - 1) names the thread, so that a caller can
// keep scratch memory per thread. The first exception thrown stops the
// handing out of items; the items already started finish, and that exception
// is rethrown once every thread is done. threads == 0 is taken as 1.
//
// A plain pool of our own rather than oneTBB: the work items here are whole
// catalogs, images or bands of a rechunk (milliseconds to seconds each), so
// work stealing gains nothing, and this keeps the exact thread count callers
// ask for and the first-error rule in one readable place.
void parallel_for(size_t count, unsigned threads, const std::function<void(size_t item, unsigned worker)>& work);

}  // namespace lcstore
