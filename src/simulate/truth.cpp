// truth.json and epochs.csv: what the simulator injected, for checking what
// the pipeline recovers, and the epoch table for `lcstore create`.
#include <fmt/core.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "lcstore/error.h"
#include "simulate/render.h"

namespace lcstore::simulate {

using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw Error(ErrorKind::kIo, path.string(), "cannot be written");
}

// A number, or null where a parameter does not apply to the star.
json number_if(bool applies, double value) { return applies ? json(value) : json(nullptr); }

json options_json(const FieldOptions& o) {
  return {{"stars", o.stars},
          {"epochs", o.epochs},
          {"size", o.size},
          {"seed", o.seed},
          {"variable_fraction", o.variable_fraction},
          {"pixel_scale_arcsec", o.pixel_scale_arcsec},
          {"center_ra", o.center_ra},
          {"center_dec", o.center_dec},
          {"fwhm_pixels", o.fwhm_pixels},
          {"zero_point", o.zero_point},
          {"sky", o.sky},
          {"background_rms", o.background_rms},
          {"gain", o.gain},
          {"mag_bright", o.mag_bright},
          {"mag_faint", o.mag_faint},
          {"zero_point_scatter", o.zero_point_scatter},
          {"first_mjd", o.first_mjd},
          {"cadence_days", o.cadence_days},
          {"first_aorkey", o.first_aorkey},
          {"min_period_days", o.min_period_days},
          {"max_period_days", o.max_period_days}};
}

// Reads the options present in `document["options"]` over the defaults.
FieldOptions read_options(const json& document) {
  FieldOptions o;
  if (!document.contains("options")) return o;
  const json& stored = document.at("options");
  auto take = [&](const char* name, auto& field) {
    if (stored.contains(name)) field = stored.at(name).get<std::remove_reference_t<decltype(field)>>();
  };
  take("stars", o.stars);
  take("epochs", o.epochs);
  take("size", o.size);
  take("seed", o.seed);
  take("variable_fraction", o.variable_fraction);
  take("pixel_scale_arcsec", o.pixel_scale_arcsec);
  take("center_ra", o.center_ra);
  take("center_dec", o.center_dec);
  take("fwhm_pixels", o.fwhm_pixels);
  take("zero_point", o.zero_point);
  take("sky", o.sky);
  take("background_rms", o.background_rms);
  take("gain", o.gain);
  take("mag_bright", o.mag_bright);
  take("mag_faint", o.mag_faint);
  take("zero_point_scatter", o.zero_point_scatter);
  take("first_mjd", o.first_mjd);
  take("cadence_days", o.cadence_days);
  take("first_aorkey", o.first_aorkey);
  take("min_period_days", o.min_period_days);
  take("max_period_days", o.max_period_days);
  return o;
}

Variability parse_variability(const std::string& name, const std::string& path) {
  for (Variability v : {Variability::kConstant, Variability::kPeriodic, Variability::kTransient}) {
    if (name == to_string(v)) return v;
  }
  throw Error(ErrorKind::kBadInput, path, fmt::format("unknown variability \"{}\"", name));
}

// The parallel per-star arrays of a truth document, checked for length.
class StarColumns {
 public:
  StarColumns(const json& document, std::string path)
      : document_(document), path_(std::move(path)), n_stars_(document.at("x").size()) {}

  size_t n_stars() const { return n_stars_; }

  // The column `name`, or nullptr if the document has none.
  const json* find(const char* name) const {
    if (!document_.contains(name)) return nullptr;
    const json& column = document_.at(name);
    if (!column.is_array() || column.size() != n_stars_) {
      throw Error(ErrorKind::kBadInput, path_,
                  fmt::format("\"{}\" must be an array of {} entries, one per star", name, n_stars_));
    }
    return &column;
  }
  const json& require(const char* name) const {
    if (const json* column = find(name)) return *column;
    throw Error(ErrorKind::kBadInput, path_, fmt::format("has no \"{}\" array", name));
  }
  // Cell `star` of `column` as a number; null (not applicable) is NaN.
  static double number(const json* column, size_t star) {
    if (column == nullptr || (*column)[star].is_null()) return kNaN;
    return (*column)[star].get<double>();
  }

 private:
  const json& document_;
  std::string path_;
  size_t n_stars_;
};

}  // namespace

namespace detail {

void write_truth(const Field& field, const std::filesystem::path& path) {
  json document;
  document["description"] =
      "Stars injected by `lcstore simulate`: parallel arrays, one entry per star; x, y are 1-based pixels "
      "(SExtractor X_IMAGE); amp is the semi-amplitude of a periodic star (mag = mag0 + amp sin(2 pi mjd / "
      "period + phase)) or the peak brightening of a transient (mag = mag0 - amp exp(-((mjd - peak_mjd) / "
      "width_days)^2 / 2)); null where a parameter does not apply. Epoch images show mag + zero_point_offset.";
  document["options"] = options_json(field.options);
  json mjd = json::array(), x = json::array(), y = json::array(), ra = json::array(), dec = json::array(),
       mag0 = json::array(), variable = json::array(), variability = json::array(), amp = json::array(),
       period = json::array(), phase = json::array(), peak_mjd = json::array(), width_days = json::array();
  for (const Epoch& epoch : field.epochs) mjd.push_back(epoch.mjd);
  for (const Star& star : field.stars) {
    const bool periodic = star.variability == Variability::kPeriodic;
    const bool transient = star.variability == Variability::kTransient;
    x.push_back(star.x);
    y.push_back(star.y);
    ra.push_back(star.ra);
    dec.push_back(star.dec);
    mag0.push_back(star.mag0);
    variable.push_back(star.variable());
    variability.push_back(to_string(star.variability));
    amp.push_back(star.amplitude);
    period.push_back(number_if(periodic, star.period_days));
    phase.push_back(number_if(periodic, star.phase));
    peak_mjd.push_back(number_if(transient, star.peak_mjd));
    width_days.push_back(number_if(transient, star.width_days));
  }
  document["mjd"] = std::move(mjd);
  document["x"] = std::move(x);
  document["y"] = std::move(y);
  document["ra"] = std::move(ra);
  document["dec"] = std::move(dec);
  document["mag0"] = std::move(mag0);
  document["variable"] = std::move(variable);
  document["variability"] = std::move(variability);
  document["amp"] = std::move(amp);
  document["period"] = std::move(period);
  document["phase"] = std::move(phase);
  document["peak_mjd"] = std::move(peak_mjd);
  document["width_days"] = std::move(width_days);
  json epochs = json::array();
  for (const Epoch& epoch : field.epochs) {
    epochs.push_back({{"key", epoch.key},
                      {"aorkey", epoch.aorkey},
                      {"mjd", epoch.mjd},
                      {"zero_point_offset", epoch.zero_point_offset},
                      {"image", epoch_image_name(epoch)},
                      {"mag", epoch.true_magnitudes}});
  }
  document["epochs"] = std::move(epochs);
  write_text(path, document.dump() + "\n");
}

void write_epochs_csv(const Field& field, const std::filesystem::path& path) {
  std::string text = "epoch,mjd,aorkey\n";
  for (const Epoch& epoch : field.epochs) text += fmt::format("{},{},{}\n", epoch.key, epoch.mjd, epoch.aorkey);
  write_text(path, text);
}

}  // namespace detail

Field read_truth(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::kIo, path.string(), "cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json document = json::parse(text.str());
    Field field;
    field.options = read_options(document);
    const StarColumns columns(document, path.string());
    const json &x = columns.require("x"), &y = columns.require("y"), &mag0 = columns.require("mag0");
    const json* variable = columns.find("variable");
    const json* variability = columns.find("variability");
    const json *ra = columns.find("ra"), *dec = columns.find("dec"), *amp = columns.find("amp");
    const json *period = columns.find("period"), *phase = columns.find("phase");
    const json *peak_mjd = columns.find("peak_mjd"), *width_days = columns.find("width_days");
    field.stars.resize(columns.n_stars());
    for (size_t s = 0; s < field.stars.size(); ++s) {
      Star& star = field.stars[s];
      star.x = x[s].get<double>();
      star.y = y[s].get<double>();
      star.mag0 = mag0[s].get<double>();
      star.ra = StarColumns::number(ra, s);
      star.dec = StarColumns::number(dec, s);
      if (variability != nullptr) {
        star.variability = parse_variability((*variability)[s].get<std::string>(), path.string());
      } else if (variable != nullptr && (*variable)[s].get<bool>()) {
        star.variability = Variability::kPeriodic;
      }
      if (!star.variable()) continue;
      star.amplitude = StarColumns::number(amp, s);
      star.period_days = StarColumns::number(period, s);
      star.phase = StarColumns::number(phase, s);
      star.peak_mjd = StarColumns::number(peak_mjd, s);
      star.width_days = StarColumns::number(width_days, s);
    }
    for (const json& stored : document.at("epochs")) {
      Epoch epoch;
      epoch.key = stored.at("key").get<std::string>();
      epoch.mjd = stored.at("mjd").get<double>();
      epoch.aorkey = stored.value("aorkey", int64_t{0});
      epoch.zero_point_offset = stored.value("zero_point_offset", 0.0);
      epoch.true_magnitudes = stored.at("mag").get<std::vector<double>>();
      if (epoch.true_magnitudes.size() != field.stars.size()) {
        throw Error(ErrorKind::kBadInput, path.string(),
                    fmt::format("epoch {} has {} magnitudes for {} stars", epoch.key, epoch.true_magnitudes.size(),
                                field.stars.size()));
      }
      field.epochs.push_back(std::move(epoch));
    }
    return field;
  } catch (const json::exception& error) {
    throw Error(ErrorKind::kBadInput, path.string(), fmt::format("not a truth table: {}", error.what()));
  }
}

}  // namespace lcstore::simulate
