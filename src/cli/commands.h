// Sub-command registration for the lcstore command-line program. Each group
// of commands adds itself to the CLI11 app; its callbacks throw lcstore::Error
// on failure and main() turns that into a message and an exit status.
#pragma once

#include <CLI/CLI.hpp>

namespace lcstore::cli {

// `lcstore zarr info|dump|reencode|demo`
void add_zarr_commands(CLI::App& app);
// `lcstore fsck`; sets `exit_code` to 1 when the store has problems.
void add_fsck_command(CLI::App& app, int& exit_code);
// `lcstore create|rechunk|info|add-epochs`
void add_store_commands(CLI::App& app);
// `lcstore populate`; sets `exit_code` to 1 when a catalog failed, 130 when interrupted.
void add_populate_command(CLI::App& app, int& exit_code);
// `lcstore lightcurve|epoch|region|cone`
void add_query_commands(CLI::App& app);
// `lcstore plot`: light curves to a PNG or SVG file (PLplot, cairo driver).
void add_plot_command(CLI::App& app);
// `lcstore simulate`: a simulated IRAC-like field (images, truth, epoch table).
void add_simulate_command(CLI::App& app);
// `lcstore demo-report`: what a store built from a simulated field recovered of it.
void add_demo_report_command(CLI::App& app);
// `lcstore serve`: the HTTP API and viewer of a store (src/server).
void add_serve_command(CLI::App& app);

// `lcstore features|calibrate|objects`: variability features, zero points, selection by feature.
void add_feature_commands(CLI::App& app);

}  // namespace lcstore::cli
