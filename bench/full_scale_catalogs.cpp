// Writes the catalogs of the full-scale benchmark (bench/full-scale): a coadd
// and one catalog per epoch of N objects with M measurements (MAG_m<k>,
// MAGERR_m<k>) and positions, as SExtractor writes FITS_1.0, on `threads`
// threads. Prints the bytes written.
//
//   full_scale_catalogs DIR OBJECTS EPOCHS MEASUREMENTS THREADS
#include <fmt/core.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "fits_catalog_writer.h"

namespace {

using lcstore::catalog::Table;

// Object o's catalog at `epoch` (-1: the coadd): a steady star with a small
// periodic signal, errors growing with magnitude.
Table catalog_at(uint64_t objects, uint64_t measurements, int64_t epoch) {
  Table table("generated");
  std::vector<int64_t> number(objects);
  std::vector<double> ra(objects), dec(objects), x(objects), y(objects);
  for (uint64_t o = 0; o < objects; ++o) {
    number[o] = static_cast<int64_t>(o + 1);
    x[o] = static_cast<double>(o % 4000) * 1.0;
    y[o] = static_cast<double>(o / 4000) * 10.0;
    ra[o] = 265.0 + x[o] * 1e-4;
    dec[o] = 65.5 + y[o] * 1e-4;
  }
  table.add_column({"NUMBER", number});
  table.add_column({"ALPHA_J2000", ra});
  table.add_column({"DELTA_J2000", dec});
  table.add_column({"X_IMAGE", x});
  table.add_column({"Y_IMAGE", y});
  const double phase = epoch < 0 ? 0.0 : static_cast<double>(epoch) * 0.1;
  for (uint64_t m = 0; m < measurements; ++m) {
    std::vector<double> mag(objects), err(objects);
    for (uint64_t o = 0; o < objects; ++o) {
      mag[o] = 16.0 + static_cast<double>(o % 800) * 0.01 + 0.1 * std::sin(phase + static_cast<double>(o + m));
      err[o] = 0.005 + static_cast<double>(o % 800) * 1e-4;
    }
    table.add_column({fmt::format("MAG_m{:02}", m), mag});
    table.add_column({fmt::format("MAGERR_m{:02}", m), err});
  }
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    fmt::print(stderr, "usage: {} DIR OBJECTS EPOCHS MEASUREMENTS THREADS\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const uint64_t objects = std::stoull(argv[2]), epochs = std::stoull(argv[3]), measurements = std::stoull(argv[4]);
  const unsigned threads = static_cast<unsigned>(std::stoul(argv[5]));
  std::filesystem::create_directories(dir);
  lcstore::bench::write_fits(dir / "coadd.fits", catalog_at(objects, measurements, -1), false);
  std::atomic<uint64_t> next{0};
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (uint64_t e = next++; e < epochs; e = next++) {
        const auto name = fmt::format("epoch_{:04}.fits", e);
        lcstore::bench::write_fits(dir / name, catalog_at(objects, measurements, static_cast<int64_t>(e)), false);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) bytes += entry.file_size();
  fmt::print("{}\n", bytes);
}
