// Writers of one chunk in one process combine their changes into one write.
//
// Writers of a chunk take turns under its lock, and each reads the chunk,
// changes it and stores it: a chunk that two threads change at about the
// same time (two epochs' catalogs, each holding half the objects of a chunk)
// was read once and written twice, which made two threads slower than one.
// Here a writer that finds another thread already writing the chunk hands
// its change to that thread and waits. That thread applies every change
// that reached it to the chunk it holds in memory, in the order they came,
// and stores the chunk once. The stored chunk is the one that applying the
// changes one after another would give; each writer returns when its change
// is stored, or throws the error that kept it from being stored.
//
// This is only a shortcut inside one process: the chunk's lock still orders
// the (combined) writes against other processes, and nothing is stored
// without it.
#pragma once

#include <exception>
#include <functional>
#include <span>
#include <string>

#include "zarr/chunk.h"

namespace lcstore::zarr {

struct ChunkChange {
  // Replaces every element of the chunk, so the chunk need not be read first.
  bool overwrites_all;
  // Changes the chunk, or throws without changing it.
  const std::function<void(Chunk&)>& apply;
  // Set by `commit` when `apply` threw: this change alone was left out.
  std::exception_ptr error = nullptr;
};

// Calls `apply` for `change`, then for each change that other threads have
// submitted for the same chunk meanwhile, in order, until none waits.
using ForEachChange = std::function<void(const std::function<void(ChunkChange&)>& apply)>;

// Stores `change` to the chunk this process knows as `key` (which must name
// the chunk, its array's metadata and its store alike). Calls `commit`, on
// this thread or on another writer's: `commit` takes the chunk's lock, reads
// the chunk (unless `first_overwrites_all`: the first change overwrites it
// all), applies the changes that `for_each_change` gives it, and stores it. Writers that arrive
// until `commit` has applied the last change are stored with it. Throws what
// `commit` threw, or the change's own error.
void combine_chunk_write(
    const std::string& key, ChunkChange& change,
    const std::function<void(bool first_overwrites_all, const ForEachChange& for_each_change)>& commit);

// How many writers wait for the write of `key` now (tests wait on it).
size_t writers_waiting(const std::string& key);

}  // namespace lcstore::zarr
