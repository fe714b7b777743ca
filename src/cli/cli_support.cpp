#include "cli/cli_support.h"

#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>

#include "lcstore/error.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::cli {

unsigned default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

lightcurve::LightCurveStore open_store(const std::string& path, Durability durability) {
  if (!std::filesystem::is_directory(path)) throw Error(ErrorKind::kNotFound, path, "no such directory");
  return lightcurve::LightCurveStore::open(std::make_shared<DirectoryStore>(path, durability));
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

void add_catalog_key_options(CLI::App* command, catalog::CatalogKeys& keys) {
  command->add_option("--table-key", keys.table_key, "Prefix of the measurement names (ch1_sci -> ch1_sci-auto)");
  command->add_option("--object-key", keys.object_key_column, "Column identifying objects (default NUMBER, else id)");
  command->add_option("--object-prefix", keys.object_key_prefix, "Prefix of the object keys (I -> I123)");
}

CLI::Option* add_size_option(CLI::App* command, const std::string& name, uint64_t& bytes, const std::string& help) {
  // Binary units (KiB = KB = 1024), as memory is counted.
  return command->add_option(name, bytes, help)->transform(CLI::AsSizeValue(false));
}

}  // namespace lcstore::cli
