// `lcstore lightcurve | epoch | region | cone`: reading a store.
#include <fmt/core.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <span>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/zero_points.h"

namespace lcstore::cli {

using namespace lcstore::lightcurve;

namespace {

void warn_if_read_layout_stale(const LightCurveStore& store) {
  if (!store.read_layout_current()) {
    std::cerr << "lcstore: note: the read layout is missing or older than the last populate; reading the write layout "
                 "(slower). Run `lcstore rechunk` to refresh it.\n";
  }
}

Cell epoch_variable_cell(const EpochTable::Variable& variable, size_t epoch) {
  return std::visit([&](const auto& values) { return Cell(values[epoch]); }, variable.values);
}

// With --calibrated: the stored zero points of the measurements a query
// prints, looked up before anything is printed, applied to mag and mag_err.
class Calibration {
 public:
  Calibration(const LightCurveStore& store, const std::vector<std::string>& measurements) {
    const std::vector<std::string>& values = store.values();
    const auto mag = std::find(values.begin(), values.end(), "mag");
    if (mag == values.end()) throw Error(ErrorKind::kNotFound, "--calibrated", "the store has no mag value");
    mag_ = static_cast<size_t>(mag - values.begin());
    const auto err = std::find(values.begin(), values.end(), "mag_err");
    if (err != values.end()) err_ = static_cast<size_t>(err - values.begin());
    // Throws Error(kNotFound) naming a measurement lcstore calibrate did not fit.
    for (const std::string& measurement : measurements) {
      zero_points_.emplace(measurement, stored_zero_points(store, measurement));
    }
  }

  // Calibrates the values of `measurement` at epochs [first_epoch,
  // first_epoch + count): `values` holds, value after value, `stride` floats
  // per value, the epochs' first at offset 0.
  void apply(const std::string& measurement, size_t first_epoch, size_t count, std::span<float> values,
             size_t stride) const {
    const ZeroPoints& all = zero_points_.at(measurement);
    const auto epochs = [&](const std::vector<double>& per_epoch) {
      return std::vector<double>(per_epoch.begin() + static_cast<ptrdiff_t>(first_epoch),
                                 per_epoch.begin() + static_cast<ptrdiff_t>(first_epoch + count));
    };
    const ZeroPoints these{epochs(all.values), epochs(all.errors)};
    std::span<float> errors;
    if (err_) errors = values.subspan(*err_ * stride, count);
    apply_zero_points(these, values.subspan(mag_ * stride, count), errors);
  }

 private:
  size_t mag_ = 0;
  std::optional<size_t> err_;
  std::map<std::string, ZeroPoints> zero_points_;
};

struct LightCurveArguments {
  std::string store;
  std::vector<std::string> objects;
  std::string objects_file;
  std::string measurement;
  bool calibrated = false;
  OutputFormat format = OutputFormat::kTable;
};

// The object keys of a file, one per line, with their line numbers: blanks
// around a key and blank lines are passed over.
std::vector<std::pair<size_t, std::string>> read_objects_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw Error(ErrorKind::kIo, path, "cannot be read");
  std::vector<std::pair<size_t, std::string>> keys;
  size_t number = 0;
  for (std::string line; std::getline(file, line);) {
    ++number;
    const size_t first = line.find_first_not_of(" \t\r\f\v");
    if (first == std::string::npos) continue;
    const size_t last = line.find_last_not_of(" \t\r\f\v");
    keys.emplace_back(number, line.substr(first, last - first + 1));
  }
  return keys;
}

void print_light_curves(const LightCurveArguments& arguments) {
  LightCurveStore store = open_store(arguments.store);
  std::vector<std::string> objects = arguments.objects;
  if (!arguments.objects_file.empty()) {
    for (auto& [line, key] : read_objects_file(arguments.objects_file)) {
      // An unknown key is named with its line, before anything is printed.
      try {
        store.object_index(key);
      } catch (const Error& error) {
        throw Error(error.kind(), fmt::format("{}:{}", arguments.objects_file, line),
                    fmt::format("{}: {}", key, error.reason()));
      }
      objects.push_back(std::move(key));
    }
  }
  if (objects.empty()) throw Error(ErrorKind::kInvalidArgument, "lightcurve", "name at least one object");
  warn_if_read_layout_stale(store);
  std::optional<std::string> measurement;
  if (!arguments.measurement.empty()) measurement = arguments.measurement;
  std::optional<Calibration> calibration;
  if (arguments.calibrated) {
    calibration.emplace(store, measurement ? std::vector<std::string>{*measurement} : store.measurements());
  }

  const EpochTable& epochs = store.epochs();
  std::vector<std::string> columns = {"object", "epoch"};
  for (const EpochTable::Variable& variable : epochs.variables) columns.push_back("epoch_" + variable.name);
  columns.push_back("measurement");
  for (const std::string& value : store.values()) columns.push_back(value);
  RecordWriter writer(std::cout, arguments.format, columns);
  const size_t n_epochs = epochs.keys.size();
  const size_t n_values = store.values().size();
  // Light curves of 1,000 epochs take 320 kB each: the objects asked for
  // are read a batch at a time, and printed as they come.
  constexpr uint64_t kBatchBytes = 64 << 20;
  std::vector<Cell> record;
  std::vector<float> data;
  store.visit_light_curves(objects, measurement, kBatchBytes, [&](const LightCurve& curve) {
    data.assign(curve.data.begin(), curve.data.end());
    for (size_t m = 0; m < curve.measurements.size() && calibration; ++m) {
      calibration->apply(curve.measurements[m], 0, n_epochs, std::span(data).subspan(m * n_values * n_epochs),
                         n_epochs);
    }
    for (size_t m = 0; m < curve.measurements.size(); ++m) {
      for (size_t e = 0; e < n_epochs; ++e) {
        record = {curve.object, epochs.keys[e]};
        for (const EpochTable::Variable& variable : epochs.variables)
          record.push_back(epoch_variable_cell(variable, e));
        record.push_back(curve.measurements[m]);
        for (size_t v = 0; v < n_values; ++v) record.push_back(data[(m * n_values + v) * n_epochs + e]);
        writer.add(record);
      }
    }
  });
  writer.finish();
}

void print_epoch(const std::string& path, const std::string& key, bool calibrated, OutputFormat format) {
  LightCurveStore store = open_store(path);
  EpochSlice slice = store.epoch(key);
  const size_t e = store.epoch_index(key);
  std::vector<std::string> columns = {"object", "measurement"};
  for (const std::string& value : store.values()) columns.push_back(value);
  RecordWriter writer(std::cout, format, columns);
  std::vector<Cell> record;
  const size_t n_measurements = store.measurements().size();
  const size_t n_values = store.values().size();
  if (calibrated) {
    const Calibration calibration(store, store.measurements());
    for (size_t o = 0; o < store.n_objects(); ++o) {
      for (size_t m = 0; m < n_measurements; ++m) {
        calibration.apply(store.measurements()[m], e, 1,
                          std::span(slice.data).subspan((o * n_measurements + m) * n_values, n_values), 1);
      }
    }
  }
  for (size_t o = 0; o < store.n_objects(); ++o) {
    for (size_t m = 0; m < n_measurements; ++m) {
      record = {store.objects()[o], store.measurements()[m]};
      for (size_t v = 0; v < n_values; ++v) record.push_back(slice.data[(o * n_measurements + m) * n_values + v]);
      writer.add(record);
    }
  }
  writer.finish();
}

void print_matches(const LightCurveStore& store, const std::vector<ObjectMatch>& matches, bool with_separation,
                   OutputFormat format) {
  std::vector<std::string> columns = {"object", "ra", "dec", "x_image", "y_image"};
  if (with_separation) columns.push_back("separation_arcsec");
  RecordWriter writer(std::cout, format, columns);
  std::vector<uint64_t> rows;
  for (const ObjectMatch& match : matches) rows.push_back(match.index);
  const ObjectTable objects = store.objects_at(rows);
  std::vector<Cell> record;
  for (size_t i = 0; i < matches.size(); ++i) {
    record = {objects.keys[i], objects.ra[i], objects.dec[i], objects.x[i], objects.y[i]};
    if (with_separation) record.push_back(matches[i].separation_arcsec);
    writer.add(record);
  }
  writer.finish();
}

// Checks that a number option lies in [low, high] (or [low, high) when
// `high_open`), saying so in a few words: CLI11's own range check prints the
// limits of double for a one-sided range.
CLI::Validator number_in(double low, double high, bool high_open = false) {
  const std::string range = fmt::format("[{}, {}{}", low, high, high_open ? ")" : "]");
  return CLI::Validator(
      [=](const std::string& text) -> std::string {
        double value = 0;
        try {
          size_t used = 0;
          value = std::stod(text, &used);
          if (used != text.size()) return fmt::format("\"{}\" is not a number", text);
        } catch (const std::exception&) {
          return fmt::format("\"{}\" is not a number", text);
        }
        const bool inside = value >= low && (high_open ? value < high : value <= high);
        return inside ? std::string() : fmt::format("{} is outside {}", text, range);
      },
      range);
}

void add_lightcurve_command(CLI::App& app) {
  auto arguments = std::make_shared<LightCurveArguments>();
  CLI::App* command = app.add_subcommand("lightcurve", "Print the light curves of objects");
  command->footer(
      "Examples:\n  lcstore lightcurve field.lcs 42 --measurement auto\n"
      "  lcstore lightcurve field.lcs --objects-file ids.txt --format csv > curves.csv");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  command->add_option("OBJECT", arguments->objects, "Object keys");
  command->add_option("--objects-file", arguments->objects_file, "File of object keys, one per line");
  command->add_option("--measurement", arguments->measurement, "Only this measurement");
  command->add_flag("--calibrated", arguments->calibrated,
                    "Apply the zero points of lcstore calibrate (mag - zp, mag_err with the zero point's error)");
  add_format_options(command, arguments->format);
  command->callback([arguments] { print_light_curves(*arguments); });
}

void add_epoch_command(CLI::App& app) {
  struct EpochArguments {
    std::string store, key;
    bool calibrated = false;
    OutputFormat format = OutputFormat::kTable;
  };
  auto arguments = std::make_shared<EpochArguments>();
  CLI::App* command = app.add_subcommand("epoch", "Print every object's values at one epoch");
  command->footer("Example:\n  lcstore epoch field.lcs r58520832 --format csv > epoch.csv");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  command->add_option("KEY", arguments->key, "Epoch key")->required();
  command->add_flag("--calibrated", arguments->calibrated, "Apply the zero points of lcstore calibrate");
  add_format_options(command, arguments->format);
  command->callback(
      [arguments] { print_epoch(arguments->store, arguments->key, arguments->calibrated, arguments->format); });
}

void add_region_command(CLI::App& app) {
  struct RegionArguments {
    std::string store;
    std::vector<double> ra, dec;
    OutputFormat format = OutputFormat::kTable;
  };
  auto arguments = std::make_shared<RegionArguments>();
  CLI::App* command = app.add_subcommand("region", "List the objects in an RA/Dec box (RA may wrap through 0)");
  command->footer("Example:\n  lcstore region field.lcs --ra 359.5 0.5 --dec -1 1   (wraps through RA 0)");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  // 360 closes a box that reaches the end of the circle: --ra 0 360 is the whole sky.
  command->add_option("--ra", arguments->ra, "RA_MIN RA_MAX in degrees in [0, 360]; RA_MIN > RA_MAX wraps")
      ->expected(2)
      ->required()
      ->check(number_in(0, 360));
  command->add_option("--dec", arguments->dec, "DEC_MIN DEC_MAX in degrees")
      ->expected(2)
      ->required()
      ->check(number_in(-90, 90));
  add_format_options(command, arguments->format);
  command->callback([arguments] {
    const auto& a = *arguments;
    if (a.dec[0] > a.dec[1]) {
      throw CLI::ValidationError("--dec", fmt::format("DEC_MIN {} is above DEC_MAX {}", a.dec[0], a.dec[1]));
    }
    if (a.ra[0] > a.ra[1]) {
      std::cerr << fmt::format(
          "lcstore: note: RA_MIN {} > RA_MAX {}: the box wraps through RA 0 ({} to 360, 0 to {})\n", a.ra[0], a.ra[1],
          a.ra[0], a.ra[1]);
    }
    LightCurveStore store = open_store(a.store);
    print_matches(store, store.region(a.ra[0], a.ra[1], a.dec[0], a.dec[1]), false, a.format);
  });
}

void add_cone_command(CLI::App& app) {
  struct ConeArguments {
    std::string store;
    double ra = 0, dec = 0, radius = 0;
    OutputFormat format = OutputFormat::kTable;
  };
  auto arguments = std::make_shared<ConeArguments>();
  CLI::App* command = app.add_subcommand("cone", "List the objects within a radius of a position, nearest first");
  command->footer("Example:\n  lcstore cone field.lcs --ra 265.05 --dec 65.55 --radius 30");
  command->add_option("STORE", arguments->store, "Store directory")->required();
  command->add_option("--ra", arguments->ra, "RA in degrees")->required()->check(number_in(0, 360, true));
  command->add_option("--dec", arguments->dec, "Dec in degrees")->required()->check(number_in(-90, 90));
  // 180 degrees reaches every point of the sky.
  command->add_option("--radius", arguments->radius, "Radius in arcseconds")
      ->required()
      ->check(number_in(0, 180 * 3600));
  add_format_options(command, arguments->format);
  command->callback([arguments] {
    LightCurveStore store = open_store(arguments->store);
    const auto& a = *arguments;
    print_matches(store, store.cone(a.ra, a.dec, a.radius), true, a.format);
  });
}

}  // namespace

void add_query_commands(CLI::App& app) {
  add_lightcurve_command(app);
  add_epoch_command(app);
  add_region_command(app);
  add_cone_command(app);
}

}  // namespace lcstore::cli
