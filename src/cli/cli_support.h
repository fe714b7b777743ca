// What the light-curve commands share: opening a store, lists on the command
// line, and the options that say how catalog columns name things.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "lcstore/catalog/column_mapping.h"
#include "lcstore/lightcurve/light_curve_store.h"
#include "lcstore/storage/directory_store.h"

namespace lcstore::cli {

// The threads a command uses unless told: one per core.
unsigned default_threads();

// The light-curve store in directory `path`; Error(kNotFound) if there is none.
lightcurve::LightCurveStore open_store(const std::string& path, Durability durability = Durability::kSyncOnCommit);

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& text);

// --table-key, --object-key and --object-prefix, as create and populate take them.
void add_catalog_key_options(CLI::App* command, catalog::CatalogKeys& keys);

// --memory SIZE (512MiB, 2GiB, 100000) into a byte count.
CLI::Option* add_size_option(CLI::App* command, const std::string& name, uint64_t& bytes, const std::string& help);

}  // namespace lcstore::cli
