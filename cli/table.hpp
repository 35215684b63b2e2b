// Column tables in the style of systemd's tools: an optional header, cells
// padded to the widest entry, numbers right-aligned, optional colour, and
// ellipsizing of chosen columns to fit a terminal.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace wsheart::cli {

enum class Color { None, Green, Yellow, Red, Bold };

// The ANSI sequence that starts `color` ("" for None) and the reset sequence.
const char* ansi_start(Color color);
inline constexpr const char* kAnsiReset = "\x1b[0m";

enum class Align { Left, Right };

struct Column {
  std::string header;
  Align align = Align::Left;
  bool ellipsize = false;  // may be shortened to fit max_width
  std::size_t min_width = 8;  // never shortened below this (when ellipsize)
  int shrink_order = 0;       // lower orders shrink to their minimum first
};

struct Cell {
  std::string text;  // must already be safe for a terminal (escape_for_terminal)
  Color color = Color::None;
};

struct TableStyle {
  bool header = true;
  bool color = false;
  std::optional<std::size_t> max_width;  // terminal columns; nullopt = unlimited
};

class Table {
 public:
  explicit Table(std::vector<Column> columns);
  // Missing trailing cells are empty; extra cells are ignored.
  void add_row(std::vector<Cell> cells);
  std::size_t rows() const { return rows_.size(); }
  // Every line ends in '\n'; no trailing blanks. Columns are separated by
  // one space. Empty string when there are no rows and no header.
  std::string render(const TableStyle& style) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace wsheart::cli
