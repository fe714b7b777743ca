#include "zarr/chunk_session.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "lcstore/error.h"

namespace lcstore::zarr {

struct ChunkSession::OpenChunk {
  enum class State {
    kOpening,  // its session takes the lock and reads it
    kOpen,     // changes are applied to `chunk`
    kStoring,  // a session stores it: no more changes
    kClosed,   // stored, or not stored because of `failure`; out of the registry
  };
  std::string key;
  std::string where;
  const ChunkSession* opener;
  std::thread::id opener_thread;
  std::mutex mutex;  // guards the fields below
  std::condition_variable settled;
  State state = State::kOpening;
  uint64_t bytes = 0;  // of `chunk` when opened, counted against its opener's budget
  Chunk chunk;
  std::unique_ptr<Lock> lock;
  std::function<void(Chunk)> store;
  std::optional<StoreFailure> failure;
};

namespace {

using OpenChunk = ChunkSession::OpenChunk;
using State = OpenChunk::State;

// Each session holds a lock (a file descriptor, for a directory store) per
// chunk it holds open.
constexpr size_t kMaxOpenChunks = 32;

// A session that opens a chunk looks for it among this many chunks closed last.
constexpr size_t kRecentlyClosed = 4 * kMaxOpenChunks;

}  // namespace

class ChunkRegistry {
 public:
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<OpenChunk>> by_key;
  // The last chunks closed, and the thread whose session opened each.
  std::deque<std::pair<std::string, std::thread::id>> recently_closed;
  // Threads whose sessions another thread's session trails: it opened anew a
  // chunk one of theirs had just stored, and has come to no chunk that one of
  // theirs holds open since. (A thread, not a session: the one trailed may
  // have committed and gone on to its next session meanwhile.)
  std::unordered_set<std::thread::id> trailed;
  std::condition_variable caught_up;

  // Takes `open` out of the registry and wakes its waiters.
  void close(OpenChunk& open, std::optional<StoreFailure> failure);
  // Stores `open` if it is still open, under the lock its opener took, and
  // closes it; returns false if another session has begun to store it.
  bool store_if_open(OpenChunk& open);
};

std::shared_ptr<ChunkRegistry> make_chunk_registry() { return std::make_shared<ChunkRegistry>(); }

namespace {

uint64_t bytes_of(const Chunk& chunk) { return chunk.data.size() + chunk.strings.size() * sizeof(std::string); }

StoreFailure failure_of(const std::exception_ptr& error, const std::string& where) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& failed) {
    return {failed.kind(), failed.subject(), failed.reason()};
  } catch (const std::exception& failed) {
    return {ErrorKind::kIo, where, failed.what()};
  } catch (...) {
    return {ErrorKind::kIo, where, "storing the chunk failed"};
  }
}

void wait_until_closed(OpenChunk& open) {
  std::unique_lock guard(open.mutex);
  open.settled.wait(guard, [&] { return open.state == State::kClosed; });
}

}  // namespace

void ChunkRegistry::close(OpenChunk& open, std::optional<StoreFailure> failure) {
  {
    std::lock_guard guard(mutex);
    by_key.erase(open.key);
    recently_closed.emplace_back(open.key, open.opener_thread);
    if (recently_closed.size() > kRecentlyClosed) recently_closed.pop_front();
  }
  std::lock_guard guard(open.mutex);
  open.state = State::kClosed;
  open.failure = std::move(failure);
  open.settled.notify_all();
}

bool ChunkRegistry::store_if_open(OpenChunk& open) {
  Chunk chunk;
  {
    std::lock_guard guard(open.mutex);
    if (open.state != State::kOpen) return false;
    open.state = State::kStoring;
    chunk = std::move(open.chunk);
  }
  std::optional<StoreFailure> failure;
  try {
    open.store(std::move(chunk));
  } catch (...) {
    failure = failure_of(std::current_exception(), open.where);
  }
  open.lock.reset();
  close(open, std::move(failure));
  return true;
}

ChunkSession::~ChunkSession() {
  while (!opened_.empty()) store_oldest();
}

void ChunkSession::change(const std::string& key, bool overwrites_all, const std::function<void(Chunk&)>& apply,
                          ChunkAccess access, OnThrow on_throw) {
  ChunkRegistry& registry = *registry_;
  while (true) {
    std::shared_ptr<OpenChunk> open;
    bool opening = false;
    {
      std::lock_guard guard(registry.mutex);
      auto [entry, inserted] = registry.by_key.try_emplace(key);
      if (inserted) {
        entry->second = std::make_shared<OpenChunk>();
        entry->second->key = key;
        entry->second->where = access.where;
        entry->second->opener = this;
        entry->second->opener_thread = std::this_thread::get_id();
        opening = true;
        // (This thread could not catch up while its own other session waits.)
        for (const auto& [closed_key, opener_thread] : registry.recently_closed) {
          if (closed_key == key && opener_thread != std::this_thread::get_id()) registry.trailed.insert(opener_thread);
        }
      }
      open = entry->second;
    }

    if (opening) {
      try {
        auto lock = access.lock();
        Chunk chunk = access.load(overwrites_all);
        apply(chunk);
        std::lock_guard guard(open->mutex);
        open->bytes = bytes_of(chunk);
        open_bytes_ += open->bytes;
        open->chunk = std::move(chunk);
        open->lock = std::move(lock);
        open->store = std::move(access.store);
        open->state = State::kOpen;
        open->settled.notify_all();
      } catch (...) {
        registry_->close(*open, std::nullopt);
        throw;
      }
      opened_.push_back(std::move(open));
      while (!opened_.empty() && (open_bytes_ > memory_budget_ || opened_.size() > kMaxOpenChunks)) {
        // (A session that the budget makes store each chunk at once holds
        // no window that another could catch up with.)
        if (opened_.size() > kMaxOpenChunks) wait_for_trailing_session();
        store_oldest();
      }
      return;
    }

    std::unique_lock guard(open->mutex);
    open->settled.wait(guard, [&] { return open->state == State::kOpen || open->state == State::kClosed; });
    if (open->state == State::kClosed) continue;  // stored meanwhile: open it anew
    // This session's commit would wait for the other one's, which this
    // thread could then never reach.
    if (open->opener != this && open->opener_thread == std::this_thread::get_id()) {
      throw Error(ErrorKind::kInvalidArgument, access.where,
                  "the chunk is held open by another session of this thread: commit that one first");
    }
    if (on_throw == OnThrow::kMayHaveChanged) {
      Chunk changed = open->chunk;
      apply(changed);
      open->chunk = std::move(changed);
    } else {
      apply(open->chunk);
    }
    guard.unlock();
    if (open->opener == this) return;
    if (std::find(changed_.begin(), changed_.end(), open) == changed_.end()) changed_.push_back(open);
    // This session has caught up with the one that opened the chunk.
    std::lock_guard registry_guard(registry.mutex);
    if (registry.trailed.erase(open->opener_thread) > 0) registry.caught_up.notify_all();
    return;
  }
}

void ChunkSession::wait_for_trailing_session() {
  ChunkRegistry& registry = *registry_;
  const std::thread::id thread = std::this_thread::get_id();
  std::unique_lock guard(registry.mutex);
  if (!registry.trailed.contains(thread)) return;
  if (!registry.caught_up.wait_for(guard, catch_up_wait_, [&] { return !registry.trailed.contains(thread); }))
    registry.trailed.erase(thread);
}

void ChunkSession::store_oldest() {
  std::shared_ptr<OpenChunk> open = std::move(opened_.front());
  opened_.erase(opened_.begin());
  open_bytes_ -= open->bytes;
  if (!registry_->store_if_open(*open)) wait_until_closed(*open);
  note(*open);
}

void ChunkSession::note(const OpenChunk& open) {
  if (open.failure && !failure_) failure_ = open.failure;
}

void ChunkSession::commit() {
  while (!opened_.empty()) store_oldest();
  // The other sessions store theirs oldest first; the newest are taken here.
  for (auto open = changed_.rbegin(); open != changed_.rend(); ++open) registry_->store_if_open(**open);
  for (const std::shared_ptr<OpenChunk>& open : changed_) {
    wait_until_closed(*open);
    note(*open);
  }
  changed_.clear();
  if (auto failure = std::exchange(failure_, std::nullopt))
    throw Error(failure->kind, failure->subject, failure->reason);
}

}  // namespace lcstore::zarr
