// Chunks held open for a writer's changes, shared with the other writers of
// this process.
//
// Each writer of a chunk reads it, changes it and stores it under the
// chunk's lock. A chunk that two threads change half each (two catalogs of
// one epoch holding every other object) was thus written twice, and read
// again by the second: two threads were slower than one doing both halves.
// A writer now makes its changes in a session. The session reads each chunk
// it changes once, under the chunk's lock, and keeps it in memory, locked,
// until the session commits; then it stores it. A writer of this process
// that changes a chunk another session holds open applies its change to
// that chunk in memory, and its own commit returns only once the session
// holding the chunk has stored it. The chunk is stored once, with every
// change, as if they had been made one after the other. A commit that waits
// for another session's chunk which that session has not begun to store
// stores it itself, so that two writers sharing chunks share their stores.
//
// A session holds at most 32 chunks open (each holds a lock: a file
// descriptor). Two writers sharing every chunk then meet in nearly all of
// them, but one that falls more than 32 chunks behind the other (preempted
// for a few milliseconds) finds every chunk already stored: it reads and
// stores each again, as slowly as the other goes on, and never catches up.
// So a session that opens anew a
// chunk that a session of another thread of this process has just stored
// marks that thread as trailed; a session of a trailed thread, before it
// stores its oldest chunk to stay within its 32, waits until a session of
// another thread changes a chunk it holds open, or for at most 20 ms.
//
// Safety. Nothing is stored without the chunk's lock, which is held from the
// read to the store: writers in other processes see all of a session's
// changes of a chunk or none. A process that is killed stores nothing of
// what its sessions held open, and the kernel releases its locks. Sessions
// that hold several chunks must open them in increasing order of the
// chunks' lock slots, the order in which every writer that holds several
// chunk locks takes them, so that lock waits cannot form a cycle; a commit
// stores (and unlocks) its own chunks before it waits for others'.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lcstore/error.h"
#include "lcstore/storage/store.h"
#include "zarr/chunk.h"

namespace lcstore::zarr {

// How a session reaches one chunk in the store.
struct ChunkAccess {
  // The chunk, for messages.
  std::string where;
  // Takes the chunk's lock.
  std::function<std::unique_ptr<Lock>()> lock;
  // The chunk as stored, the fill value where it is not; when `unread`, a
  // chunk of the right size that the first change overwrites whole.
  std::function<Chunk(bool unread)> load;
  // Stores the chunk (or erases it), under its lock.
  std::function<void(Chunk)> store;
};

// How storing a chunk failed, for each writer whose changes were in it.
// Each of them throws an Error of its own, made from this: one exception
// object rethrown in several threads may be destroyed in one while another
// still reads it.
struct StoreFailure {
  ErrorKind kind;
  std::string subject;
  std::string reason;
};

// The chunks the sessions of one array hold open, shared by those sessions.
// The Array owns it (its copies share it: they are one array) and every
// session on the array holds it too, so it lives while either does. Writers
// through another Array object of the same store and path share nothing
// here; they still exclude each other by the chunks' locks.
class ChunkRegistry;
std::shared_ptr<ChunkRegistry> make_chunk_registry();

class ChunkSession {
 public:
  // How long a session that another trails waits, at most, before it stores
  // its oldest chunk (see the top of this file).
  static constexpr std::chrono::milliseconds kCatchUpWait{20};

  // The chunks this session opened are stored, oldest first, as soon as
  // together they hold more than `memory_budget` bytes (0: each as soon as
  // it is changed) or there are more than 32 of them.
  ChunkSession(std::shared_ptr<ChunkRegistry> registry, uint64_t memory_budget,
               std::chrono::milliseconds catch_up_wait = kCatchUpWait)
      : registry_(std::move(registry)), memory_budget_(memory_budget), catch_up_wait_(catch_up_wait) {}
  ChunkSession(const ChunkSession&) = delete;
  ChunkSession& operator=(const ChunkSession&) = delete;
  // Stores what the session still holds open, ignoring errors: other
  // writers' changes may be in those chunks.
  ~ChunkSession();

  // What a change leaves of the chunk when it throws.
  enum class OnThrow {
    kChangesNothing,  // it throws before it changes the chunk
    // It may throw after changing part of it: it is applied in place to a
    // chunk opened for it (which is then dropped), else to a copy.
    kMayHaveChanged,
  };

  // Applies `apply` to the chunk `key` of the registry's array: to the chunk
  // some session holds open, or else to the chunk this session opens through
  // `access`. A change that throws leaves the chunk as it was (`on_throw`
  // says how); `overwrites_all` says it replaces every element, so that a
  // chunk opened for it need not be read.
  void change(const std::string& key, bool overwrites_all, const std::function<void(Chunk&)>& apply, ChunkAccess access,
              OnThrow on_throw = OnThrow::kChangesNothing);

  // Stores the chunks this session opened, and those it changed that other
  // sessions opened but have not begun to store; then waits until every
  // chunk it changed is stored. Throws the first error.
  void commit();

  struct OpenChunk;

 private:
  void store_oldest();
  // Waits, up to catch_up_wait_, while another session trails this one.
  void wait_for_trailing_session();
  // Records the first failure to store a chunk that held this session's changes.
  void note(const OpenChunk& open);

  std::shared_ptr<ChunkRegistry> registry_;
  uint64_t memory_budget_;
  std::chrono::milliseconds catch_up_wait_;
  uint64_t open_bytes_ = 0;
  std::vector<std::shared_ptr<OpenChunk>> opened_;   // by this session, oldest first
  std::vector<std::shared_ptr<OpenChunk>> changed_;  // opened by other sessions
  std::optional<StoreFailure> failure_;              // the first of a chunk with its changes
};

}  // namespace lcstore::zarr
