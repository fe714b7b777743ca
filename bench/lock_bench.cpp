// What locking costs: the same writes with the store's chunk locks on and
// off, and writers contending for one chunk versus writing disjoint chunks.
// Baseline: raw write() of the same bytes into files of the same sizes.
#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "bench_support.h"
#include "lcstore/memory.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/array.h"

namespace lcstore::bench {
namespace {

namespace fs = std::filesystem;
using zarr::Array;
using zarr::DimSelection;
using zarr::Shape;

constexpr int kRuns = 5;
const Shape kShape{8192, 8, 2, 32};
const Shape kChunks{8192, 8, 2, 1};  // 512 KiB per chunk, one epoch per chunk
const uint64_t kSlabCells = kShape[0] * kShape[1] * kShape[2];
const double kChunkBytes = static_cast<double>(kSlabCells * sizeof(float));

zarr::ArrayMetadata metadata() {
  zarr::ArrayMetadata m;
  m.shape = kShape;
  m.chunk_shape = kChunks;
  m.fill_value = zarr::FillValue::of(NAN);
  m.codecs = {{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}};
  return m;
}

zarr::Selection slab(uint64_t epoch, uint64_t first_object = 0, uint64_t objects = kShape[0]) {
  return {DimSelection::range(first_object, first_object + objects), DimSelection::all(kShape[1]),
          DimSelection::all(kShape[2]), DimSelection::range(epoch, epoch + 1)};
}

void uncontended(const fs::path& scratch) {
  std::vector<float> values(kSlabCells, 17.5f);
  const uint64_t epochs = kShape[3];
  double raw = median_seconds(kRuns, [&] { raw_write(scratch / "raw", epochs, values); });
  const uint64_t half = kShape[0] / 2;
  auto write_all_epochs = [&](Locking locking) {
    fs::remove_all(scratch / "array");
    Array array =
        Array::create(std::make_shared<DirectoryStore>(scratch / "array", Durability::kNone, locking), "", metadata());
    std::span<const float> part(values.data(), half * kShape[1] * kShape[2]);
    // Two half-slab writes per epoch: the second is a read-modify-write.
    for (uint64_t epoch = 0; epoch < epochs; ++epoch) {
      array.write<float>(slab(epoch, 0, half), part);
      array.write<float>(slab(epoch, half, half), part);
    }
  };
  // Interleaved, so that both variants see the same machine load.
  std::vector<double> locked_times, unlocked_times;
  for (int run = 0; run < 2 * kRuns + 1; ++run) {
    unlocked_times.push_back(median_seconds(1, [&] { write_all_epochs(Locking::kDisabled); }));
    locked_times.push_back(median_seconds(1, [&] { write_all_epochs(Locking::kEnabled); }));
  }
  std::sort(locked_times.begin(), locked_times.end());
  std::sort(unlocked_times.begin(), unlocked_times.end());
  const double locked = locked_times[kRuns], unlocked = unlocked_times[kRuns];
  const double megabytes = static_cast<double>(epochs) * kChunkBytes / 1e6;
  fmt::print("uncontended: {} epochs x 2 half-slab writes, {:.0f} KiB chunks (median of {})\n", epochs,
             kChunkBytes / 1024, 2 * kRuns + 1);
  fmt::print("  {:<28} {:>9.1f} MB/s\n", "raw write() baseline", megabytes / raw);
  fmt::print("  {:<28} {:>9.1f} MB/s  {:.2f}x raw\n", "lcstore, locking disabled", megabytes / unlocked,
             raw / unlocked);
  fmt::print("  {:<28} {:>9.1f} MB/s  {:.2f}x raw\n", "lcstore, locking enabled", megabytes / locked, raw / locked);
  fmt::print("  locking overhead: {:+.1f}% (target at most +10%)\n", (locked / unlocked - 1) * 100);
}

// `writers` threads each write their share of objects `rounds` times, either
// all into chunk 0 or each into its own chunk.
void contended(const fs::path& scratch) {
  constexpr uint64_t kRounds = 16;
  std::vector<float> values(kSlabCells, 3.25f);
  double raw = median_seconds(kRuns, [&] { raw_write(scratch / "raw", kRounds, values); });
  fmt::print("contention: each writer writes {} times a share of one 512 KiB chunk (median of {})\n", kRounds, kRuns);
  fmt::print("  {:<36} {:>9.1f} MB/s of cells\n", "raw write() of whole chunks", kRounds * kChunkBytes / 1e6 / raw);
  for (int writers : {1, 2, 4}) {
    for (bool shared : {true, false}) {
      const uint64_t share = kShape[0] / static_cast<uint64_t>(writers);
      double seconds = median_seconds(kRuns, [&] {
        fs::remove_all(scratch / "array");
        Array array = Array::create(std::make_shared<DirectoryStore>(scratch / "array"), "", metadata());
        std::vector<std::thread> threads;
        for (int w = 0; w < writers; ++w) {
          threads.emplace_back([&, w] {
            std::span<const float> part(values.data(), share * kShape[1] * kShape[2]);
            for (uint64_t round = 0; round < kRounds; ++round) {
              array.write<float>(slab(shared ? 0 : static_cast<uint64_t>(w), share * static_cast<uint64_t>(w), share),
                                 part);
            }
          });
        }
        for (auto& thread : threads) thread.join();
      });
      // Every writer writes `share` objects per round: together one chunk's worth per round.
      const double megabytes = kRounds * kChunkBytes / 1e6;
      fmt::print("  {} writer(s), {:<24} {:>9.1f} MB/s of cells  {:.2f}x raw\n", writers,
                 shared ? "sharing one chunk" : "on disjoint chunks", megabytes / seconds, raw / seconds);
    }
  }
}

}  // namespace
}  // namespace lcstore::bench

int main() {
  lcstore::keep_freed_memory();
  const auto scratch = std::filesystem::temp_directory_path() / ("lcstore-lock-bench-" + std::to_string(::getpid()));
  lcstore::bench::uncontended(scratch);
  lcstore::bench::contended(scratch);
  std::filesystem::remove_all(scratch);
}
