#include "table.hpp"

#include <algorithm>
#include <numeric>

#include "text.hpp"

namespace wsheart::cli {

const char* ansi_start(Color color) {
  switch (color) {
    case Color::Green: return "\x1b[0;32m";
    case Color::Yellow: return "\x1b[0;33m";
    case Color::Red: return "\x1b[0;31m";
    case Color::Bold: return "\x1b[1m";
    case Color::None: break;
  }
  return "";
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<Cell> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

namespace {

// Shrinks ellipsizable columns until the line fits or none can shrink
// further: the columns of the lowest shrink_order first, widest first within
// an order (never below the next widest, so long columns share the cut).
void fit_widths(const std::vector<Column>& columns, std::vector<std::size_t>& widths, std::size_t max_width) {
  const std::size_t separators = widths.empty() ? 0 : widths.size() - 1;
  auto total = [&] { return std::accumulate(widths.begin(), widths.end(), separators); };
  std::vector<int> orders;
  for (const auto& c : columns) {
    if (c.ellipsize) orders.push_back(c.shrink_order);
  }
  std::sort(orders.begin(), orders.end());
  orders.erase(std::unique(orders.begin(), orders.end()), orders.end());
  for (int order : orders) {
    auto eligible = [&](std::size_t c) { return columns[c].ellipsize && columns[c].shrink_order <= order; };
    while (total() > max_width) {
      std::size_t best = columns.size();
      for (std::size_t c = 0; c < columns.size(); ++c) {
        if (!eligible(c) || widths[c] <= columns[c].min_width) continue;
        if (best == columns.size() || widths[c] > widths[best]) best = c;
      }
      if (best == columns.size()) break;  // this order is exhausted
      const std::size_t excess = total() - max_width;
      std::size_t step = std::min(excess, widths[best] - columns[best].min_width);
      std::size_t second = 0;
      for (std::size_t c = 0; c < columns.size(); ++c) {
        if (c != best && eligible(c)) second = std::max(second, widths[c]);
      }
      if (second > columns[best].min_width && widths[best] > second) step = std::min(step, widths[best] - second);
      widths[best] -= std::max<std::size_t>(step, 1);
    }
  }
}

}  // namespace

std::string Table::render(const TableStyle& style) const {
  if (rows_.empty() && !style.header) return {};
  const std::size_t n = columns_.size();
  std::vector<std::size_t> widths(n, 0);
  for (std::size_t c = 0; c < n; ++c) {
    if (style.header) widths[c] = display_width(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c].text));
  }
  if (style.max_width) fit_widths(columns_, widths, *style.max_width);

  std::string out;
  auto emit_row = [&](const std::vector<Cell>& cells, bool is_header) {
    std::string line;
    std::size_t pending_blanks = 0;  // padding is only written before visible text
    for (std::size_t c = 0; c < n; ++c) {
      std::string text = ellipsize(cells[c].text, widths[c]);
      const std::size_t w = display_width(text);
      const std::size_t pad = widths[c] - std::min(w, widths[c]);
      if (c > 0) ++pending_blanks;
      if (columns_[c].align == Align::Right) pending_blanks += pad;
      if (!text.empty()) {
        line.append(pending_blanks, ' ');
        pending_blanks = 0;
        const Color color = is_header ? Color::None : cells[c].color;
        if (style.color && color != Color::None) {
          line += ansi_start(color);
          line += text;
          line += kAnsiReset;
        } else {
          line += text;
        }
      }
      if (columns_[c].align == Align::Left) pending_blanks += pad;
    }
    out += line;
    out += '\n';
  };
  if (style.header) {
    std::vector<Cell> header;
    header.reserve(n);
    for (const auto& col : columns_) header.push_back({col.header, Color::None});
    emit_row(header, true);
  }
  for (const auto& row : rows_) emit_row(row, false);
  return out;
}

}  // namespace wsheart::cli
