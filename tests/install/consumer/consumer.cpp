// Prints one object's light curve as "epoch,value" lines: the first
// measurement's first value at each epoch.
#include <cstdio>
#include <memory>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: consumer STORE OBJECT\n");
    return 2;
  }
  try {
    auto store = lcstore::lightcurve::LightCurveStore::open(std::make_shared<lcstore::DirectoryStore>(argv[1]));
    lcstore::lightcurve::LightCurve curve = store.light_curve(argv[2]);
    const auto& epochs = store.epochs().keys;
    for (size_t e = 0; e < epochs.size(); ++e) std::printf("%s,%.9g\n", epochs[e].c_str(), curve.data[e]);
  } catch (const lcstore::Error& error) {
    std::fprintf(stderr, "consumer: %s\n", error.what());
    return 1;
  }
  return 0;
}
