// The C++ side of python/bench/python_bench.py: the same engine calls the
// Python API makes, timed here without Python, so the benchmark can print the
// Python API's overhead against them in one run.
//
//   engine_baseline populate STORE REPEATS EPOCH=CATALOG...
//   engine_baseline lightcurves STORE REPEATS N
//
// prints the median seconds of REPEATS runs. populate reads and populates
// every catalog (journaled by content, forced, as Store.populate does with a
// path); lightcurves reads the first N objects' curves in one call.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "lcstore/catalog/read_catalog.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"

namespace {

using namespace lcstore;
using namespace lcstore::lightcurve;

template <typename Work>
double median_seconds(int repeats, Work work) {
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    work();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s populate|lightcurves STORE REPEATS ARGS...\n", argv[0]);
    return 2;
  }
  try {
    const std::string operation = argv[1];
    LightCurveStore store = LightCurveStore::open(std::make_shared<DirectoryStore>(argv[2]));
    const int repeats = std::stoi(argv[3]);
    double seconds = 0;
    if (operation == "populate") {
      std::vector<std::pair<std::string, std::string>> catalogs;
      for (int i = 4; i < argc; ++i) {
        const std::string argument = argv[i];
        const size_t equals = argument.find('=');
        catalogs.emplace_back(argument.substr(0, equals), argument.substr(equals + 1));
      }
      seconds = median_seconds(repeats, [&] {
        for (const auto& [epoch, path] : catalogs) {
          catalog::Catalog read = catalog::read_catalog(path);
          store.populate(epoch, read.table, {.journal_id = catalog_content_id(path), .force = true});
        }
      });
    } else if (operation == "lightcurves") {
      const std::vector<std::string> objects(store.objects().begin(), store.objects().begin() + std::stoul(argv[4]));
      seconds = median_seconds(repeats, [&] { store.light_curves(objects); });
    } else {
      std::fprintf(stderr, "unknown operation %s\n", operation.c_str());
      return 2;
    }
    std::printf("%.6f\n", seconds);
  } catch (const Error& error) {
    std::fprintf(stderr, "engine_baseline: %s\n", error.what());
    return 1;
  }
  return 0;
}
