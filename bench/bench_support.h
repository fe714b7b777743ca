// Timing helpers shared by the benchmark programs: every figure is the median
// of several runs, printed next to a baseline measured in the same run.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace lcstore::bench {

// Median wall time in seconds of `runs` calls of `work`.
template <typename Work>
double median_seconds(int runs, Work&& work) {
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    work();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace lcstore::bench
