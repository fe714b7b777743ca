#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/option_names.h"
#include "lcstore/closest_names.h"
#include "lcstore/error.h"
#include "lcstore/memory.h"

namespace {

// Each populate thread holds up to 32 chunk locks at once (Array::Session),
// each an open file of a directory store: the usual soft limit of 1024 open
// files would fail populate with more than about 30 threads.
void raise_open_file_limit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// "unknown command 'lightcurv' (did you mean 'lightcurve'?)" when `name`
// names no subcommand.
std::optional<std::string> unknown_command_message(const CLI::App& app, const std::string& name) {
  std::vector<std::string> names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(command->get_name());
  if (std::find(names.begin(), names.end(), name) != names.end()) return std::nullopt;
  const std::vector<std::string> closest = lcstore::closest_names(name, names, 1);
  if (closest.empty()) return "unknown command '" + name + "' (lcstore --help lists the commands)";
  return "unknown command '" + name + "' (did you mean '" + closest.front() + "'?)";
}

}  // namespace

int main(int argc, char** argv) {
  lcstore::keep_freed_memory();
  raise_open_file_limit();
  CLI::App app{"lcstore: build and serve astronomical light curves in Zarr v3 stores"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "lcstore 0.1.0");
  int exit_code = 0;
  lcstore::cli::add_zarr_commands(app);
  lcstore::cli::add_fsck_command(app, exit_code);
  lcstore::cli::add_store_commands(app);
  lcstore::cli::add_populate_command(app, exit_code);
  lcstore::cli::add_query_commands(app);
#ifdef LCSTORE_PLOT
  lcstore::cli::add_plot_command(app);
#endif
  lcstore::cli::add_simulate_command(app);
  lcstore::cli::add_demo_report_command(app);
  lcstore::cli::add_serve_command(app);
  lcstore::cli::add_feature_commands(app);
  if (argc > 1 && argv[1][0] != '-') {
    if (std::optional<std::string> message = unknown_command_message(app, argv[1])) {
      std::fprintf(stderr, "lcstore: %s\n", message->c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; every other parse error is a usage error.
    return app.exit(error) == 0 ? 0 : 2;
  } catch (const lcstore::Error& library_error) {
    const lcstore::Error error = lcstore::cli::in_cli_words(library_error);
    std::fprintf(stderr, "lcstore: %s: %s\n", lcstore::to_string(error.kind()), error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "lcstore: internal error: %s\n", error.what());
    return 3;
  }
  return exit_code;
}
