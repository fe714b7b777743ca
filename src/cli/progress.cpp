#include "cli/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace lcstore::cli {

Progress::Progress(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)), total_(total), active_(enabled && isatty(STDERR_FILENO) == 1) {}

void Progress::advance(uint64_t steps) {
  std::lock_guard lock(mutex_);
  done_ += steps;
  draw();
}

void Progress::set(uint64_t done) {
  std::lock_guard lock(mutex_);
  done_ = done;
  draw();
}

void Progress::draw() {
  if (!active_) return;
  auto now = std::chrono::steady_clock::now();
  // Redrawing more often than the eye can follow costs time on slow terminals.
  if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
  const int filled = static_cast<int>(fraction * kWidth);
  const double seconds = std::chrono::duration<double>(now - start_).count();
  std::string bar =
      std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.');
  std::string eta =
      done_ > 0 && done_ < total_
          ? fmt::format(", {:.0f} s left", seconds / static_cast<double>(done_) * static_cast<double>(total_ - done_))
          : "";
  std::fprintf(stderr, "\r%s [%s] %llu/%llu (%.1f s%s)\x1b[K", label_.c_str(), bar.c_str(),
               static_cast<unsigned long long>(done_), static_cast<unsigned long long>(total_), seconds, eta.c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (!active_) return;
  std::fprintf(stderr, "\r\x1b[K");
  std::fflush(stderr);
  active_ = false;
}

void Progress::print_line(const std::string& line) {
  std::lock_guard lock(mutex_);
  if (active_) std::fprintf(stderr, "\r\x1b[K");
  std::cout << line << std::endl;
  if (active_) {
    last_draw_ = {};
    draw();
  }
}

}  // namespace lcstore::cli
