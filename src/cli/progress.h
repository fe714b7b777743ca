// Progress of long operations (populating many catalogs, rechunking, fsck).
//
// On a terminal, a bar redrawn in place on stderr; otherwise nothing, so logs
// and pipes get only the plain per-item lines the commands print anyway.
// Thread-safe: workers call advance() concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace lcstore::cli {

class Progress {
 public:
  // `enabled` false (--quiet, --json) silences it even on a terminal.
  Progress(std::string label, uint64_t total, bool enabled);
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(uint64_t steps = 1);
  // Sets the count of steps done (for callers that report totals).
  void set(uint64_t done);
  // Clears the bar; idempotent.
  void finish();
  // Prints `line` on stdout without tearing the bar.
  void print_line(const std::string& line);

 private:
  void draw();  // with mutex_ held

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool active_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  std::mutex mutex_;
};

}  // namespace lcstore::cli
