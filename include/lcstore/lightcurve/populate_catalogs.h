// Populating a store from many catalog files at once, as `lcstore populate`
// and the Python package's populate_many do: each file read, identified by
// its content for the journal, and written, several at a time; a catalog
// that fails is reported and leaves the store as it was, and the others
// still go in.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lcstore/catalog/read_catalog.h"
#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"

namespace lcstore::lightcurve {

struct CatalogFile {
  std::filesystem::path path;
  std::string epoch;
};

// The epoch of each file from the first group of `pattern` (ECMAScript
// regular expression) searched in its file name: "epoch_(r[0-9]+)". Throws
// Error(kInvalidArgument) with subject "epoch_from_name" for a bad pattern,
// and naming the file for a name it does not match.
std::vector<CatalogFile> catalog_files_by_name(const std::vector<std::filesystem::path>& paths,
                                               const std::string& pattern);

struct CatalogReport {
  enum class Status {
    kNotStarted,  // stopped before its turn
    kWritten,
    kAlreadyDone,  // journaled from the same catalog before; nothing written
    kFailed,       // nothing written; `error` says why
    // Failed midway with values it could not undo; `error` says which. The
    // journal marks the epoch incomplete.
    kPartlyWritten,
  };
  CatalogFile catalog;
  Status status = Status::kNotStarted;
  std::optional<catalog::Format> format;  // once the file was read
  PopulateResult result;
  std::optional<Error> error;
};
// "not_started", "written", "already_done", "failed", "partly_written".
const char* to_string(CatalogReport::Status status);

struct PopulateCatalogsOptions {
  // For every catalog; journal_id is each catalog's own content id.
  PopulateOptions populate;
  bool invalid_to_nan = false;  // catalog::ReadOptions::invalid_to_nan
  bool allow_empty = false;     // catalog::ReadOptions::allow_empty
  unsigned threads = 1;         // catalogs populated at once
  // Called after each catalog, from the thread that populated it, one call
  // at a time.
  std::function<void(const CatalogReport&)> on_report;
  // Once it is true no catalog is started; those in hand finish (and are
  // journaled). May be set from a signal handler.
  const std::atomic<bool>* stop = nullptr;
};

// One report per catalog, in the order given.
std::vector<CatalogReport> populate_catalogs(LightCurveStore& store, const std::vector<CatalogFile>& catalogs,
                                             const PopulateCatalogsOptions& options);

}  // namespace lcstore::lightcurve
