#include "lightcurve/curve_columns.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "lcstore/error.h"

namespace lcstore::lightcurve {

MagnitudeRows magnitude_rows(const LightCurveStore& curves) {
  const std::vector<std::string>& values = curves.values();
  auto row_of = [&](const std::string& name) -> std::optional<size_t> {
    auto found = std::find(values.begin(), values.end(), name);
    if (found == values.end()) return std::nullopt;
    return static_cast<size_t>(found - values.begin());
  };
  std::optional<size_t> mag = row_of("mag");
  if (!mag) {
    throw Error(ErrorKind::kNotFound, "mag",
                fmt::format("the store has no magnitudes; its values are {}", fmt::join(values, ", ")));
  }
  return {*mag, row_of("mag_err")};
}

std::vector<std::string> measurements_to_use(const LightCurveStore& curves, const std::vector<std::string>& asked) {
  const std::vector<std::string>& known = curves.measurements();
  if (asked.empty()) return known;
  for (const std::string& measurement : asked) {
    if (std::find(known.begin(), known.end(), measurement) == known.end()) {
      throw Error(ErrorKind::kNotFound, measurement,
                  fmt::format("no such measurement in the store; it has {}", fmt::join(known, ", ")));
    }
  }
  return asked;
}

double median_in_place(std::span<double> values) {
  const size_t half = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(half), values.end());
  const double upper = values[half];
  if (values.size() % 2 == 1) return upper;
  return (*std::max_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(half)) + upper) / 2;
}

}  // namespace lcstore::lightcurve
