#include "lcstore/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace lcstore {

void parallel_for(size_t count, unsigned threads, const std::function<void(size_t item, unsigned worker)>& work) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_failure;
  std::mutex failure_mutex;
  auto run = [&](unsigned worker) {
    try {
      for (size_t item = next++; item < count && !failed; item = next++) work(item, worker);
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!first_failure) first_failure = std::current_exception();
      failed = true;
    }
  };
  const unsigned n_threads = static_cast<unsigned>(std::clamp<size_t>(threads, 1, std::max<size_t>(count, 1)));
  std::vector<std::thread> others;
  for (unsigned worker = 1; worker < n_threads; ++worker) others.emplace_back(run, worker);
  run(0);
  for (std::thread& thread : others) thread.join();
  if (first_failure) std::rethrow_exception(first_failure);
}

}  // namespace lcstore
