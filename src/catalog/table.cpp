#include "lcstore/catalog/table.h"

#include "lcstore/error.h"

namespace lcstore::catalog {

const char* to_string(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kFloat64:
      return "float64";
    case ColumnType::kString:
      return "string";
    case ColumnType::kFloat32:
      return "float32";
  }
  return "unknown";
}

namespace {

template <typename Cells>
const Cells& cells_as(const Column::Cells& cells, const std::string& name, ColumnType wanted) {
  if (const auto* typed = std::get_if<Cells>(&cells)) return *typed;
  throw Error(ErrorKind::kInvalidArgument, "column " + name,
              std::string("holds ") + to_string(static_cast<ColumnType>(cells.index())) + ", not " + to_string(wanted));
}

}  // namespace

size_t Column::size() const {
  return std::visit([](const auto& cells) { return cells.size(); }, cells_);
}

const Numbers<int64_t>& Column::int64s() const { return cells_as<Numbers<int64_t>>(cells_, name_, ColumnType::kInt64); }

const Numbers<double>& Column::float64s() const {
  return cells_as<Numbers<double>>(cells_, name_, ColumnType::kFloat64);
}

const Numbers<float>& Column::float32s() const { return cells_as<Numbers<float>>(cells_, name_, ColumnType::kFloat32); }

const std::vector<std::string>& Column::strings() const {
  return cells_as<std::vector<std::string>>(cells_, name_, ColumnType::kString);
}

double Column::number(size_t row) const {
  if (const auto* ints = std::get_if<Numbers<int64_t>>(&cells_)) return static_cast<double>(ints->at(row));
  if (const auto* floats = std::get_if<Numbers<float>>(&cells_)) return floats->at(row);
  return float64s().at(row);
}

Column::MutableReals Column::mutable_reals() {
  if (const auto* ints = std::get_if<Numbers<int64_t>>(&cells_)) {
    Numbers<double> widened(ints->begin(), ints->end());
    cells_ = std::move(widened);
  }
  if (auto* floats = std::get_if<Numbers<float>>(&cells_)) return floats;
  (void)float64s();  // throws for a string column
  return &std::get<Numbers<double>>(cells_);
}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> names;
  names.reserve(columns_.size());
  for (const Column& column : columns_) names.push_back(column.name());
  return names;
}

const Column* Table::find(std::string_view name) const {
  auto found = index_.find(std::string(name));
  return found == index_.end() ? nullptr : &columns_[found->second];
}

Column* Table::find(std::string_view name) {
  auto found = index_.find(std::string(name));
  return found == index_.end() ? nullptr : &columns_[found->second];
}

const Column& Table::column(std::string_view name) const {
  if (const Column* found = find(name)) return *found;
  throw Error(ErrorKind::kBadInput, source_, "no column " + std::string(name));
}

void Table::add_column(Column column) {
  if (!columns_.empty() && column.size() != num_rows()) {
    throw Error(ErrorKind::kInvalidArgument, "column " + column.name(),
                std::to_string(column.size()) + " cells, but the table has " + std::to_string(num_rows()) + " rows");
  }
  if (!index_.emplace(column.name(), columns_.size()).second)
    throw Error(ErrorKind::kInvalidArgument, "column " + column.name(), "the table already has a column of that name");
  columns_.push_back(std::move(column));
}

}  // namespace lcstore::catalog
