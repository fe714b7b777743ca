// Times lcstore's feature kernels on light curves written by
// bench/features_bench.py, which runs this program and, in the same run, the
// light-curve package, nifty-ls and astropy on the same curves.
//
//   features_bench CURVES.bin PERIODOGRAM_CURVES
//
// CURVES.bin: uint64 n_curves, uint64 n_epochs, n_epochs float64 times, then
// n_curves x n_epochs float32 magnitudes and as many float32 errors.
// Prints one JSON object: the median seconds, over 5 runs on one thread, of
// every feature but the periodogram over all curves ("cheap_seconds"), and
// of the periodogram alone over the first PERIODOGRAM_CURVES curves on the
// default grid ("periodogram_seconds", "grid").
#include <fmt/core.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench_support.h"
#include "lcstore/lightcurve/features.h"

using namespace lcstore::lightcurve;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: features_bench CURVES.bin PERIODOGRAM_CURVES\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  uint64_t n_curves = 0, n_epochs = 0;
  in.read(reinterpret_cast<char*>(&n_curves), sizeof n_curves);
  in.read(reinterpret_cast<char*>(&n_epochs), sizeof n_epochs);
  std::vector<double> times(n_epochs);
  std::vector<float> mag(n_curves * n_epochs), err(n_curves * n_epochs);
  in.read(reinterpret_cast<char*>(times.data()), static_cast<std::streamsize>(n_epochs * sizeof(double)));
  in.read(reinterpret_cast<char*>(mag.data()), static_cast<std::streamsize>(mag.size() * sizeof(float)));
  in.read(reinterpret_cast<char*>(err.data()), static_cast<std::streamsize>(err.size() * sizeof(float)));
  if (!in) {
    std::fprintf(stderr, "features_bench: %s is truncated\n", argv[1]);
    return 1;
  }
  const uint64_t periodogram_curves = std::min<uint64_t>(n_curves, std::stoull(argv[2]));
  FeatureScratch scratch;
  std::vector<double> out(kFeatureCount);
  double checksum = 0;  // keeps the work observable
  auto curve = [&](std::vector<float>& values, uint64_t c) {
    return std::span<const float>(values).subspan(c * n_epochs, n_epochs);
  };
  const double cheap = lcstore::bench::median_seconds(5, [&] {
    for (uint64_t c = 0; c < n_curves; ++c) {
      compute_features(times, curve(mag, c), curve(err, c), FrequencyGrid{}, scratch, out);
      checksum += out[static_cast<size_t>(Feature::kStetsonJ)];
    }
  });
  const FrequencyGrid grid = frequency_grid(times, {});
  std::vector<double> t(n_epochs), y(n_epochs), dy(n_epochs), power(grid.count);
  const double periodogram = lcstore::bench::median_seconds(5, [&] {
    for (uint64_t c = 0; c < periodogram_curves; ++c) {
      for (uint64_t e = 0; e < n_epochs; ++e) {
        t[e] = times[e] - times[0];
        y[e] = mag[c * n_epochs + e];
        dy[e] = err[c * n_epochs + e];
      }
      lomb_scargle(t, y, dy, grid, power);
      checksum += power[grid.count / 2];
    }
  });
  fmt::print(
      "{{\"cheap_seconds\": {}, \"periodogram_seconds\": {}, \"periodogram_curves\": {}, "
      "\"grid\": {{\"minimum\": {}, \"step\": {}, \"count\": {}}}, \"checksum\": {}}}\n",
      cheap, periodogram, periodogram_curves, grid.minimum, grid.step, grid.count, checksum);
  return 0;
}
