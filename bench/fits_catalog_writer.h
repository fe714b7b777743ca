// Writes catalogs as SExtractor's FITS_1.0 and FITS_LDAC do, through CFITSIO,
// for the benchmarks that read them.
#pragma once

#include <fitsio.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lcstore/catalog/table.h"

namespace lcstore::bench {

using catalog::Column;
using catalog::Table;

// A vector element's column (MAG_APER_1) continues the parameter before it.
inline bool is_vector_element(const std::string& name) {
  const size_t underscore = name.rfind('_');
  return underscore != std::string::npos && underscore + 1 < name.size() &&
         name.find_first_not_of("0123456789", underscore + 1) == std::string::npos;
}

inline void check_fits(int status, const std::string& what) {
  if (status == 0) return;
  char text[FLEN_ERRMSG] = {};
  fits_get_errstatus(status, text);
  throw std::runtime_error(what + ": " + text);
}

// The objects table as SExtractor writes it: float32 cells ('E', vectors
// '4E') but for the coordinates ('D') and the integers ('J', 'I').
inline void write_objects_table(fitsfile* file, const Table& catalog, const char* extname) {
  struct Field {
    std::string name;
    std::string form;
    std::vector<const Column*> columns;
  };
  std::vector<Field> fields;
  for (const Column& column : catalog.columns()) {
    const std::string& name = column.name();
    if (is_vector_element(name)) {
      fields.back().columns.push_back(&column);
      continue;
    }
    const char* form = name == "NUMBER" ? "J" : name == "FLAGS" ? "I" : name.ends_with("J2000") ? "D" : "E";
    fields.push_back({name, form, {&column}});
  }
  std::vector<std::string> forms;
  std::vector<char*> types, tforms;
  for (Field& field : fields) forms.push_back(std::to_string(field.columns.size()) + field.form);
  for (size_t i = 0; i < fields.size(); ++i) {
    types.push_back(fields[i].name.data());
    tforms.push_back(forms[i].data());
  }
  int status = 0;
  fits_create_tbl(file, BINARY_TBL, static_cast<LONGLONG>(catalog.num_rows()), static_cast<int>(fields.size()),
                  types.data(), tforms.data(), nullptr, extname, &status);
  check_fits(status, "fits_create_tbl");
  for (size_t f = 0; f < fields.size(); ++f) {
    const size_t repeat = fields[f].columns.size();
    std::vector<double> cells(catalog.num_rows() * repeat);
    for (size_t row = 0; row < catalog.num_rows(); ++row)
      for (size_t k = 0; k < repeat; ++k) cells[row * repeat + k] = fields[f].columns[k]->number(row);
    fits_write_col(file, TDOUBLE, static_cast<int>(f + 1), 1, 1, static_cast<LONGLONG>(cells.size()), cells.data(),
                   &status);
    check_fits(status, "fits_write_col " + fields[f].name);
  }
}

// Built in memory and written with one write(): CFITSIO writing a table field
// by field straight to disk seeks and writes every 2880-byte block once per
// field (seconds per catalog).
inline void write_fits(const std::filesystem::path& path, const Table& catalog, bool ldac) {
  fitsfile* file = nullptr;
  int status = 0;
  void* memory = nullptr;
  size_t memory_size = 0;
  fits_create_memfile(&file, &memory, &memory_size, 1 << 20, std::realloc, &status);
  check_fits(status, "fits_create_memfile");
  fits_create_img(file, BYTE_IMG, 0, nullptr, &status);
  if (ldac) {
    // LDAC's copy of the image header: one row of 80-character cards.
    char name[] = "Field Header Card";
    char form[] = "2880A";
    char* names[] = {name};
    char* forms[] = {form};
    fits_create_tbl(file, BINARY_TBL, 1, 1, names, forms, nullptr, "LDAC_IMHEAD", &status);
    std::string cards(2880, ' ');
    char* card_rows[] = {cards.data()};
    fits_write_col(file, TSTRING, 1, 1, 1, 1, card_rows, &status);
  }
  check_fits(status, "writing the primary header");
  write_objects_table(file, catalog, ldac ? "LDAC_OBJECTS" : "OBJECTS");
  // The bytes written so far: the memory buffer may be larger.
  LONGLONG header_start = 0, data_start = 0, data_end = 0;
  fits_get_hduaddrll(file, &header_start, &data_start, &data_end, &status);
  fits_flush_file(file, &status);
  check_fits(status, "fits_flush_file");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(memory), static_cast<std::streamsize>(data_end));
  fits_close_file(file, &status);
  std::free(memory);
  check_fits(status, "fits_close_file");
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace lcstore::bench
