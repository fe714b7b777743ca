#include "lightcurve/journal.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "lcstore/error.h"
#include "lcstore/zarr/metadata.h"

namespace lcstore::lightcurve {

using nlohmann::json;

namespace {

constexpr std::string_view kJournalKey = ".lcstore/journal.json";
constexpr std::string_view kLockSpace = ".lcstore";

}  // namespace

json Journal::read() const {
  std::optional<Bytes> bytes = store_.get(kJournalKey);
  if (!bytes) return json{{"generation", 0}, {"epochs", json::object()}};
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  json document;
  try {
    document = zarr::parse_json_document(text, store_.describe(kJournalKey));
  } catch (const Error&) {
    document = nullptr;  // not valid JSON, or nested too deep: refused below
  }
  if (!document.is_object() || !document.contains("generation") || !document["generation"].is_number_unsigned() ||
      !document.contains("epochs") || !document["epochs"].is_object() ||
      !std::all_of(document["epochs"].begin(), document["epochs"].end(),
                   [](const json& catalogs) { return catalogs.is_object(); })) {
    throw Error(ErrorKind::kCorruptData, store_.describe(kJournalKey), "is not an lcstore journal");
  }
  return document;
}

uint64_t Journal::generation() const { return read()["generation"].get<uint64_t>(); }

bool Journal::completed(const std::string& epoch, const std::string& entry_id) const {
  json document = read();
  const json& epochs = document["epochs"];
  auto found = epochs.find(epoch);
  return found != epochs.end() && found->contains(entry_id);
}

uint64_t Journal::begin() {
  uint64_t generation = 0;
  change([&](json& document) {
    generation = document["generation"].get<uint64_t>() + 1;
    document["generation"] = generation;
  });
  return generation;
}

void Journal::complete(const std::string& epoch, const std::string& entry_id, json details) {
  // The populate's chunks reach the disk before the journal records it, and
  // the record before the populate returns: after a machine crash the journal
  // never claims cells the disk lacks, so a rerun is skipped only when it may be.
  store_.sync();
  change([&](json& document) {
    document["generation"] = document["generation"].get<uint64_t>() + 1;
    if (!entry_id.empty()) document["epochs"][epoch][entry_id] = std::move(details);
  });
  store_.sync();
}

void Journal::change(const std::function<void(json&)>& edit) {
  auto held = store_.lock(kLockSpace, 0);
  json document = read();
  edit(document);
  std::string text = document.dump(1);
  store_.set(kJournalKey, std::as_bytes(std::span(text)));
}

}  // namespace lcstore::lightcurve
