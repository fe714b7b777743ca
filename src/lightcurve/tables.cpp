// The inputs of a new store (epoch and object tables), strategies, and the
// catalog content identifier.
#include <fmt/core.h>
#include <xxhash.h>

#include <charconv>
#include <fstream>
#include <unordered_set>

#include "lcstore/error.h"
#include "lcstore/lightcurve/light_curve_store.h"

namespace lcstore::lightcurve {

namespace {

std::string_view trim(std::string_view text) {
  const char* space = " \t\r";
  size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// Comma-separated fields, trimmed. Epoch tables hold keys, dates and ids,
// never quoted commas, so no quoting rules are needed.
std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    size_t end = line.find(',', start);
    fields.emplace_back(trim(line.substr(start, end - start)));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

std::optional<double> parse_number(const std::string& text) {
  double number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return number;
}

// `where(i)` names the origin of key i (a file:line, a catalog) in the error.
template <typename Where>
void check_unique(const std::vector<std::string>& keys, Where&& where, const char* what) {
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].empty()) throw Error(ErrorKind::kBadInput, where(i), fmt::format("an empty {} key", what));
    if (!seen.insert(keys[i]).second) {
      throw Error(ErrorKind::kBadInput, where(i), fmt::format("{} key \"{}\" appears twice", what, keys[i]));
    }
  }
}

}  // namespace

EpochTable EpochTable::from_keys(std::vector<std::string> keys) {
  check_unique(
      keys, [](size_t) { return std::string("epochs"); }, "epoch");
  EpochTable table;
  table.keys = std::move(keys);
  return table;
}

EpochTable EpochTable::read(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) throw Error(ErrorKind::kIo, path.string(), "cannot be read");
  std::vector<std::pair<size_t, std::string>> lines;  // (line number, text)
  std::string line;
  for (size_t number = 1; std::getline(file, line); ++number) {
    std::string_view content = trim(line);
    if (!content.empty() && content.front() != '#') lines.emplace_back(number, std::string(content));
  }
  if (lines.empty()) throw Error(ErrorKind::kBadInput, path.string(), "lists no epochs");
  EpochTable table;
  if (lines.front().second.find(',') == std::string::npos) {
    for (const auto& [number, key] : lines) table.keys.push_back(key);
    check_unique(
        table.keys, [&](size_t i) { return fmt::format("{}:{}", path.string(), lines[i].first); }, "epoch");
    return table;
  }
  std::vector<std::string> header = split_fields(lines.front().second);
  if (header.front() != "epoch" && header.front() != "key") {
    throw Error(ErrorKind::kBadInput, fmt::format("{}:{}", path.string(), lines.front().first),
                "the first column of an epoch table must be named epoch or key");
  }
  std::vector<std::vector<std::string>> cells(header.size());
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = split_fields(lines[i].second);
    if (fields.size() != header.size()) {
      throw Error(ErrorKind::kBadInput, fmt::format("{}:{}", path.string(), lines[i].first),
                  fmt::format("{} fields where the header has {}", fields.size(), header.size()));
    }
    for (size_t c = 0; c < fields.size(); ++c) cells[c].push_back(std::move(fields[c]));
  }
  table.keys = std::move(cells.front());
  // Key i is on the line after the header's.
  check_unique(
      table.keys, [&](size_t i) { return fmt::format("{}:{}", path.string(), lines[i + 1].first); }, "epoch");
  for (size_t c = 1; c < header.size(); ++c) {
    std::vector<double> numbers;
    for (const std::string& cell : cells[c]) {
      std::optional<double> number = parse_number(cell);
      if (!number) break;
      numbers.push_back(*number);
    }
    if (numbers.size() == cells[c].size()) {
      table.variables.push_back({header[c], std::move(numbers)});
    } else {
      table.variables.push_back({header[c], std::move(cells[c])});
    }
  }
  return table;
}

ObjectTable ObjectTable::from_catalog(const catalog::Table& table, const catalog::ColumnMapping& mapping) {
  ObjectTable objects;
  objects.keys = mapping.object_keys(table);
  check_unique(
      objects.keys, [&](size_t) { return table.source(); }, "object");
  const size_t rows = table.num_rows();
  auto column_or_nan = [&](const std::string& name, auto& out) {
    const catalog::Column* column = name.empty() ? nullptr : table.find(name);
    out.resize(rows, std::numeric_limits<typename std::decay_t<decltype(out)>::value_type>::quiet_NaN());
    if (column == nullptr) return;
    for (size_t row = 0; row < rows; ++row) out[row] = static_cast<std::decay_t<decltype(out[0])>>(column->number(row));
  };
  const catalog::Coordinates& names = mapping.coordinates();
  column_or_nan(names.ra, objects.ra);
  column_or_nan(names.dec, objects.dec);
  column_or_nan(names.x, objects.x);
  column_or_nan(names.y, objects.y);
  return objects;
}

ObjectTable ObjectTable::rows(const std::vector<size_t>& picked) const {
  ObjectTable objects;
  for (size_t row : picked) {
    objects.keys.push_back(keys[row]);
    objects.ra.push_back(ra[row]);
    objects.dec.push_back(dec[row]);
    objects.x.push_back(x[row]);
    objects.y.push_back(y[row]);
  }
  return objects;
}

namespace {

struct StrategyNames {
  Strategy strategy;
  const char* name;
  const char* original;
};
constexpr StrategyNames kStrategies[] = {
    {Strategy::kMaskedSlab, "masked_slab", "v0"},
    {Strategy::kReadModifyWrite, "read_modify_write", "v1"},
    {Strategy::kScatter, "scatter", "v2"},
};

const StrategyNames& names_of(Strategy strategy) {
  for (const StrategyNames& names : kStrategies)
    if (names.strategy == strategy) return names;
  throw Error(ErrorKind::kInvalidArgument, "strategy", "not a strategy");
}

}  // namespace

const char* to_string(Strategy strategy) { return names_of(strategy).name; }
const char* original_name(Strategy strategy) { return names_of(strategy).original; }

Strategy parse_strategy(std::string_view name) {
  for (const StrategyNames& names : kStrategies) {
    if (name == names.name || name == names.original) return names.strategy;
  }
  throw Error(ErrorKind::kInvalidArgument, "strategy",
              fmt::format("\"{}\" is not masked_slab (v0), read_modify_write (v1) or scatter (v2)", name));
}

const char* to_string(LayoutInfo::Status status) {
  switch (status) {
    case LayoutInfo::Status::kAbsent:
      return "absent";
    case LayoutInfo::Status::kStale:
      return "stale";
    case LayoutInfo::Status::kCurrent:
      return "current";
  }
  return "?";
}

std::string catalog_content_id(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(ErrorKind::kIo, path.string(), "cannot be read");
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  std::vector<char> buffer(1 << 20);
  while (file.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || file.gcount() > 0) {
    XXH3_128bits_update(state, buffer.data(), static_cast<size_t>(file.gcount()));
  }
  XXH128_hash_t hash = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return fmt::format("xxh3-128:{:016x}{:016x}", hash.high64, hash.low64);
}

}  // namespace lcstore::lightcurve
