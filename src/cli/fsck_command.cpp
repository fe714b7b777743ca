// `lcstore fsck`: is every chunk of every array decodable, and did a killed
// writer leave files or a populate half done behind?
#include <fmt/core.h>

#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/progress.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"
#include "lcstore/zarr/group.h"

namespace lcstore::cli {

using nlohmann::json;
using namespace lcstore::zarr;

namespace {

struct FsckOptions {
  std::string path;
  bool repair = false;
  bool json_output = false;
  bool quiet = false;
};

// The paths of every array at or below `path`; unreadable nodes become problems.
void find_arrays(const std::shared_ptr<DirectoryStore>& store, const std::string& path,
                 std::vector<std::string>& arrays, std::vector<std::string>& problems) {
  try {
    if (node_type_at(*store, path) == NodeType::kArray) {
      arrays.push_back(path);
      return;
    }
    for (const Group::Child& child : Group::open(store, path).children()) {
      find_arrays(store, path.empty() ? child.name : path + "/" + child.name, arrays, problems);
    }
  } catch (const Error& error) {
    problems.push_back(error.what());
  }
}

// The populates begun and never completed of a light-curve store (none for
// another Zarr store), rolled back where they can be with `repair`.
std::vector<lightcurve::UnfinishedPopulate> check_populates(const std::shared_ptr<DirectoryStore>& store, bool repair) {
  std::optional<lightcurve::LightCurveStore> light_curves;
  try {
    light_curves.emplace(lightcurve::LightCurveStore::open(store));
  } catch (const Error& error) {
    // Not a light-curve store: a plain Zarr store, or one whose metadata the
    // array checks report.
    if (error.kind() == ErrorKind::kNotFound || error.kind() == ErrorKind::kInvalidMetadata) return {};
    throw;
  }
  return repair ? light_curves->roll_back_killed_populates() : light_curves->unfinished_populates();
}

std::string describe(const lightcurve::UnfinishedPopulate& populate, bool repair) {
  using State = lightcurve::UnfinishedPopulate::State;
  const std::string what = fmt::format("populate of epoch {} from {} (began at generation {})", populate.epoch,
                                       populate.catalog, populate.began);
  switch (populate.state) {
    case State::kRunning:
      return what + ": running";
    case State::kKilled:
      return what + ": killed midway; --repair puts back what its cells held";
    case State::kRolledBack:
      return what + ": killed midway; rolled back, its cells hold what they held before";
    case State::kNeedsRerun:
      return what + ": never completed, and " + (repair ? "not rolled back" : "--repair cannot roll it back") +
             " because " + populate.reason + "; rerun it to complete it";
  }
  return what;
}

int fsck(const FsckOptions& options) {
  auto store = std::make_shared<DirectoryStore>(options.path);
  // First, so that a repair refused because a populate runs changes nothing.
  const std::vector<lightcurve::UnfinishedPopulate> populates = check_populates(store, options.repair);
  std::vector<std::string> array_paths, problems;
  find_arrays(store, "", array_paths, problems);
  json arrays = json::array();
  Progress progress("fsck (arrays)", array_paths.size(), !options.quiet && !options.json_output);
  for (const std::string& path : array_paths) {
    try {
      std::vector<std::string> found = Array::open(store, path).verify_chunks();
      arrays.push_back({{"path", path.empty() ? "/" : path}, {"corrupt_chunks", found.size()}});
      problems.insert(problems.end(), found.begin(), found.end());
    } catch (const Error& error) {
      problems.push_back(error.what());
    }
    progress.advance();
  }
  progress.finish();
  DirectoryStore::Leftovers leftovers = store->find_leftovers();
  if (options.repair) store->remove_leftovers(leftovers);

  json populates_json = json::array();
  bool populates_left = false;
  for (const lightcurve::UnfinishedPopulate& populate : populates) {
    using State = lightcurve::UnfinishedPopulate::State;
    populates_left = populates_left || populate.state == State::kKilled || populate.state == State::kNeedsRerun;
    populates_json.push_back({{"epoch", populate.epoch},
                              {"catalog", populate.catalog},
                              {"began", populate.began},
                              {"state", lightcurve::to_string(populate.state)},
                              {"reason", populate.reason}});
  }
  if (options.json_output) {
    std::cout << json{{"arrays", arrays},
                      {"problems", problems},
                      {"temporary_files", leftovers.temporary_files},
                      {"lock_files", leftovers.lock_files},
                      {"unfinished_populates", populates_json},
                      {"repaired", options.repair}}
                     .dump(2)
              << "\n";
  } else if (!options.quiet || !problems.empty() || populates_left) {
    for (const json& array : arrays) {
      std::cout << "array " << array["path"].get<std::string>() << ": "
                << (array["corrupt_chunks"] == 0 ? "ok" : "CORRUPT") << "\n";
    }
    for (const std::string& problem : problems) std::cout << "problem: " << problem << "\n";
    for (const auto& populate : populates) std::cout << describe(populate, options.repair) << "\n";
    const char* verb = options.repair ? "removed" : "found";
    for (const std::string& file : leftovers.temporary_files) std::cout << verb << " temporary file: " << file << "\n";
    // Lock files are part of normal operation; listed only when removed.
    if (options.repair) {
      for (const std::string& file : leftovers.lock_files) std::cout << verb << " lock file: " << file << "\n";
    }
    std::cout << (problems.empty() ? (populates_left ? "incomplete" : "clean") : "damaged") << ": " << arrays.size()
              << " arrays, " << problems.size() << " problems, " << leftovers.temporary_files.size()
              << " temporary files, " << leftovers.lock_files.size() << " lock files, " << populates.size()
              << " unfinished populates" << (options.repair ? " (leftovers removed)" : "") << "\n";
  }
  // Leftovers are harmless to readers, so they only fail the check when not repaired.
  bool leftovers_remain = !options.repair && !leftovers.temporary_files.empty();
  return problems.empty() && !leftovers_remain && !populates_left ? 0 : 1;
}

}  // namespace

void add_fsck_command(CLI::App& app, int& exit_code) {
  static FsckOptions options;
  CLI::App* command = app.add_subcommand(
      "fsck",
      "Check that every chunk of every array decodes; report (and with --repair remove) leftover files and roll back "
      "populates killed midway");
  command->add_option("PATH", options.path, "Store directory")->required()->check(CLI::ExistingDirectory);
  command->add_flag("--repair", options.repair,
                    "Roll back killed populates, remove temporary files of killed writers and lock files (only while "
                    "no writer runs; refused while a populate runs)");
  command->add_flag("--json", options.json_output, "Print the report as JSON");
  command->add_flag("-q,--quiet", options.quiet, "Print nothing when the store is clean (the exit status tells)");
  command->footer(
      "Examples:\n  lcstore fsck field.lcs\n  lcstore fsck field.lcs --repair   # after a crash, with no writer "
      "running");
  command->callback([&exit_code] { exit_code = fsck(options); });
}

}  // namespace lcstore::cli
