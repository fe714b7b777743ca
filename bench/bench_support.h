// Timing helpers shared by the benchmark programs: every figure is the median
// of several runs, printed next to a baseline measured in the same run.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace lcstore::bench {

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Wall time in seconds of one call of `work`.
template <typename Work>
double seconds(Work&& work) {
  auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Median wall time in seconds of `runs` calls of `work`.
template <typename Work>
double median_seconds(int runs, Work&& work) {
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) times.push_back(seconds(work));
  return median(std::move(times));
}

// Writes `count` files of `values` each with plain write(): the physical
// floor of writing chunks of that size.
inline void raw_write(const std::filesystem::path& directory, uint64_t count, const std::vector<float>& values) {
  std::filesystem::create_directories(directory);
  for (uint64_t i = 0; i < count; ++i) {
    std::filesystem::path path = directory / std::to_string(i);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::write(fd, values.data(), values.size() * sizeof(float)) < 0) std::abort();
    ::close(fd);
  }
}

}  // namespace lcstore::bench
