// report.html: one self-contained page (no network, no scripts, no external assets) with the
// verdict table, the loss curves and prediction dynamics as inline SVG, the evidence images as
// PNG data URIs, evidence tables (CSV) as HTML tables, and the data statistics.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "trainer/checks/recipe.h"

namespace preflight {

// `folder` holds the evidence files the checks wrote (read back to embed them).
std::string report_html(const Report& report, const std::string& folder);

// One SVG line chart of `curves` (exposed for tests). `log_y` plots log10 of positive values;
// y_min and y_max fix a linear y range (NAN: fit the data).
std::string svg_chart(const std::string& title, const std::vector<Curve>& curves, const std::string& x_label,
                      const std::string& y_label, bool log_y, double y_min = NAN, double y_max = NAN);

std::string base64(const std::vector<uint8_t>& bytes);
std::string html_escape(const std::string& text);

}  // namespace preflight
