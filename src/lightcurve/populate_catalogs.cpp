#include "lcstore/lightcurve/populate_catalogs.h"

#include <fmt/core.h>

#include <mutex>
#include <regex>

#include "lcstore/parallel.h"

namespace lcstore::lightcurve {

std::vector<CatalogFile> catalog_files_by_name(const std::vector<std::filesystem::path>& paths,
                                               const std::string& pattern) {
  std::regex expression;
  try {
    expression = std::regex(pattern);
  } catch (const std::regex_error& error) {
    throw Error(ErrorKind::kInvalidArgument, "epoch_from_name", error.what());
  }
  std::vector<CatalogFile> files;
  for (const std::filesystem::path& path : paths) {
    const std::string name = path.filename().string();
    std::smatch match;
    if (!std::regex_search(name, match, expression) || match.size() < 2 || !match[1].matched) {
      throw Error(ErrorKind::kInvalidArgument, path.string(),
                  fmt::format("the file name does not match `epoch_from_name` \"{}\" with a group", pattern));
    }
    files.push_back({path, match[1]});
  }
  return files;
}

const char* to_string(CatalogReport::Status status) {
  switch (status) {
    case CatalogReport::Status::kNotStarted:
      return "not_started";
    case CatalogReport::Status::kWritten:
      return "written";
    case CatalogReport::Status::kAlreadyDone:
      return "already_done";
    case CatalogReport::Status::kFailed:
      return "failed";
    case CatalogReport::Status::kPartlyWritten:
      return "partly_written";
  }
  return "?";
}

namespace {

CatalogReport populate_one(LightCurveStore& store, const CatalogFile& file, const PopulateCatalogsOptions& options) {
  CatalogReport report{.catalog = file};
  try {
    catalog::Catalog catalog = catalog::read_catalog(
        file.path, {.invalid_to_nan = options.invalid_to_nan, .allow_empty = options.allow_empty});
    report.format = catalog.format;
    PopulateOptions populate = options.populate;
    // The same bytes read with other options are another catalog.
    populate.journal_id = catalog_content_id(file.path) + (options.invalid_to_nan ? " invalid_to_nan" : "");
    report.result = store.populate(file.epoch, catalog.table, populate);
    report.status = report.result.already_done ? CatalogReport::Status::kAlreadyDone : CatalogReport::Status::kWritten;
  } catch (const PartlyWrittenError& error) {
    report.status = CatalogReport::Status::kPartlyWritten;
    report.error = error;
  } catch (const Error& error) {
    report.status = CatalogReport::Status::kFailed;
    report.error = error;
  }
  return report;
}

}  // namespace

std::vector<CatalogReport> populate_catalogs(LightCurveStore& store, const std::vector<CatalogFile>& catalogs,
                                             const PopulateCatalogsOptions& options) {
  std::vector<CatalogReport> reports(catalogs.size());
  for (size_t i = 0; i < catalogs.size(); ++i) reports[i].catalog = catalogs[i];
  std::mutex report_mutex;
  parallel_for(catalogs.size(), options.threads, [&](size_t i, unsigned) {
    if (options.stop != nullptr && options.stop->load()) return;
    reports[i] = populate_one(store, catalogs[i], options);
    if (options.on_report) {
      std::lock_guard lock(report_mutex);
      options.on_report(reports[i]);
    }
  });
  return reports;
}

}  // namespace lcstore::lightcurve
