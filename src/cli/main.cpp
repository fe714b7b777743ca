#include <sys/resource.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/option_names.h"
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
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
