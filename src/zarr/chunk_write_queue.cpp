#include "zarr/chunk_write_queue.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace lcstore::zarr {

namespace {

// A change waiting for the thread that writes its chunk.
struct Waiting {
  ChunkChange* change;
  bool committed = false;
  std::condition_variable wake;
};

// The chunks some thread of this process is writing, each with the changes
// queued for it. One mutex for all: it is held only to queue and hand over.
struct Writing {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<Waiting*>> queues;
};

Writing& writing() {
  static Writing instance;
  return instance;
}

}  // namespace

void combine_chunk_write(
    const std::string& key, ChunkChange& change,
    const std::function<void(bool first_overwrites_all, const ForEachChange& for_each_change)>& commit) {
  Writing& chunks = writing();
  Waiting mine{&change};
  std::unique_lock guard(chunks.mutex);
  if (auto [queue, first] = chunks.queues.try_emplace(key); !first) {
    queue->second.push_back(&mine);
    mine.wake.wait(guard, [&] { return mine.committed; });
    if (change.error) std::rethrow_exception(change.error);
    return;
  }

  // This thread writes the chunk: its own change, and the changes that
  // arrive while it applies them. Writers that come after it applied the
  // last one go into another write, which this thread also makes. A write
  // that fails fails for each change in it.
  std::vector<Waiting*> batch{&mine};
  while (true) {
    guard.unlock();
    size_t applied = 0;
    auto for_each_change = [&](const std::function<void(ChunkChange&)>& apply) {
      for (;; ++applied) {
        if (applied == batch.size()) {
          std::lock_guard arrivals(chunks.mutex);
          std::vector<Waiting*>& queue = chunks.queues.at(key);
          if (queue.empty()) return;
          batch.insert(batch.end(), queue.begin(), queue.end());
          queue.clear();
        }
        apply(*batch[applied]->change);
      }
    };
    try {
      commit(batch.front()->change->overwrites_all, for_each_change);
    } catch (...) {
      for (Waiting* failed : batch) failed->change->error = std::current_exception();
    }
    guard.lock();
    for (Waiting* waiting : batch) {
      waiting->committed = true;
      if (waiting != &mine) waiting->wake.notify_one();
    }
    auto queue = chunks.queues.find(key);
    if (queue->second.empty()) {
      chunks.queues.erase(queue);
      break;
    }
    batch = std::move(queue->second);
    queue->second.clear();
  }
  guard.unlock();
  if (change.error) std::rethrow_exception(change.error);
}

size_t writers_waiting(const std::string& key) {
  Writing& chunks = writing();
  std::lock_guard guard(chunks.mutex);
  auto queue = chunks.queues.find(key);
  return queue == chunks.queues.end() ? 0 : queue->second.size();
}

}  // namespace lcstore::zarr
