// `lcstore simulate`: write a simulated IRAC-like field (images, truth,
// epoch table) for the demo and for trying lcstore without survey data.
#include <fmt/core.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "lcstore/simulate/field.h"

namespace lcstore::cli {

namespace {

struct SimulateArguments {
  std::string directory;
  simulate::FieldOptions field;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool json_output = false;
};

void run_simulate(const SimulateArguments& arguments) {
  const auto start = std::chrono::steady_clock::now();
  const simulate::Field field = simulate::make_field(arguments.field);
  simulate::write_field(field, arguments.directory, arguments.threads);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  size_t periodic = 0, transient = 0;
  for (const simulate::Star& star : field.stars) {
    periodic += star.variability == simulate::Variability::kPeriodic;
    transient += star.variability == simulate::Variability::kTransient;
  }
  const simulate::FieldOptions& o = field.options;
  if (arguments.json_output) {
    std::cout << nlohmann::json{{"directory", arguments.directory},
                                {"stars", field.stars.size()},
                                {"periodic", periodic},
                                {"transient", transient},
                                {"epochs", field.epochs.size()},
                                {"size", o.size},
                                {"seed", o.seed},
                                {"seconds", seconds}}
                     .dump(1)
              << "\n";
    return;
  }
  std::cout << fmt::format(
      "simulated {} stars (mag {}-{}; {} variable: {} periodic, {} transient) at {} epochs, MJD {:.1f}-{:.1f}\n"
      "  {}x{} pixels of {}\", centre RA {} Dec {}, PSF FWHM {} px, zero point {}, seed {}\n"
      "wrote {}: {}, {} epoch images epoch_<key>.fits, {}, {} ({:.2f} s)\n",
      field.stars.size(), o.mag_bright, o.mag_faint, periodic + transient, periodic, transient, field.epochs.size(),
      field.epochs.front().mjd, field.epochs.back().mjd, o.size, o.size, o.pixel_scale_arcsec, o.center_ra,
      o.center_dec, o.fwhm_pixels, o.zero_point, o.seed, arguments.directory, simulate::kCoaddImage,
      field.epochs.size(), simulate::kTruthFile, simulate::kEpochsFile, seconds);
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto arguments = std::make_shared<SimulateArguments>();
  CLI::App* command =
      app.add_subcommand("simulate", "Write a simulated IRAC-like field: coadd and epoch images, truth, epoch table");
  command->footer(
      "Writes OUTDIR/coadd.fits (the mean of the epochs), OUTDIR/epoch_<key>.fits per epoch (headers: TAN WCS,\n"
      "MJD-OBS, AORKEY), OUTDIR/truth.json (every star's position, magnitudes and variability) and\n"
      "OUTDIR/epochs.csv (for `lcstore create --epochs-file`). Magnitudes are -2.5 log10(counts) + 25.\n"
      "The same options and seed give the same files.\n\n"
      "Example:\n  lcstore simulate field --stars 500 --epochs 10 --size 512 --seed 7");
  command->add_option("OUTDIR", arguments->directory, "Directory to write into (created if missing)")->required();
  command->add_option("--stars", arguments->field.stars, "Number of stars")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--epochs", arguments->field.epochs, "Number of epochs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--size", arguments->field.size, "Image width and height, pixels")->capture_default_str();
  command->add_option("--seed", arguments->field.seed, "Random seed")->capture_default_str();
  command->add_option("--variable-fraction", arguments->field.variable_fraction, "Fraction of the stars that vary")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  command->add_option("-j,--jobs", arguments->threads, "Images rendered at once (default: cores)");
  command->add_flag("--json", arguments->json_output, "Print the result as JSON");
  command->callback([arguments] { run_simulate(*arguments); });
}

}  // namespace lcstore::cli
