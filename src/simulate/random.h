// Random numbers for the field simulator, identical on every platform.
//
// std::mt19937_64 is fully specified by the standard, but the standard
// distributions are not (libstdc++ and libc++ draw different normals from the
// same engine), so the uniform and normal draws are made here and a seed
// always gives the same field.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace lcstore::simulate::detail {

// SplitMix64's output function: turns (seed, stream) into well-separated
// engine seeds, so each image gets its own stream whatever the thread count.
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Random {
 public:
  Random(uint64_t seed, uint64_t stream) : engine_(mix_seed(seed, stream)) {}

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  // Standard normal deviates by the Box-Muller transform, two per pair of
  // uniforms (the second is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));  // 1 - u is in (0, 1]
    const double angle = 2.0 * std::numbers::pi * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace lcstore::simulate::detail
