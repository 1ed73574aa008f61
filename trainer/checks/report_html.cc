#include "trainer/checks/report_html.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "runtime/file_io.h"

namespace preflight {
namespace {

const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

bool read_bytes(const std::string& path, std::vector<uint8_t>* bytes) {
  return read_regular_file(path.c_str(), bytes).is_ok();  // a regular file only (a FIFO in --out never hangs)
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string number(double value) {
  if (!std::isfinite(value)) return "-";
  return format_text("%.5g", value);
}

// A CSV evidence file (a header line, then rows) as an HTML table.
std::string csv_table(const std::string& text, const std::string& caption) {
  std::string html = "<div class=\"scroll\"><table class=\"data\"><caption>" + html_escape(caption) + "</caption>\n";
  size_t start = 0;
  for (int line = 0; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string row = text.substr(start, end - start);
    start = end + 1;
    if (row.empty()) continue;
    html += "<tr>";
    size_t field_start = 0;
    for (;;) {
      const size_t comma = row.find(',', field_start);
      const std::string field = row.substr(field_start, comma == std::string::npos ? std::string::npos : comma - field_start);
      html += (line == 0 ? "<th>" : "<td>") + html_escape(field) + (line == 0 ? "</th>" : "</td>");
      if (comma == std::string::npos) break;
      field_start = comma + 1;
    }
    html += "</tr>\n";
  }
  return html + "</table></div>\n";
}

const CheckResult* find_check(const Report& report, const std::string& id) {
  for (const CheckResult& check : report.checks) {
    if (check.id == id) return &check;
  }
  return nullptr;
}

// The curves of check `id` (all, or the one named `name`), renamed to `label` when given.
void take_curves(const Report& report, const std::string& id, const std::string& name, const std::string& label,
                 std::vector<Curve>* into) {
  const CheckResult* check = find_check(report, id);
  if (!check) return;
  for (const Curve& curve : check->curves) {
    if (!name.empty() && curve.name != name) continue;
    into->push_back(curve);
    if (!label.empty()) into->back().name = label;
  }
}

}  // namespace

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t a = bytes[i], b = i + 1 < bytes.size() ? bytes[i + 1] : 0, c = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t triple = (a << 16) | (b << 8) | c;
    out += kDigits[(triple >> 18) & 63];
    out += kDigits[(triple >> 12) & 63];
    out += i + 1 < bytes.size() ? kDigits[(triple >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kDigits[triple & 63] : '=';
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string svg_chart(const std::string& title, const std::vector<Curve>& curves, const std::string& x_label,
                      const std::string& y_label, bool log_y, double y_min, double y_max) {
  const double width = 720, height = 340, left = 70, right = 200, top = 30, bottom = 45;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double x_low = INFINITY, x_high = -INFINITY, y_low = INFINITY, y_high = -INFINITY;
  const auto transform = [log_y](double y) { return log_y ? (y > 0 ? std::log10(y) : NAN) : y; };
  for (const Curve& curve : curves) {
    for (size_t i = 0; i < curve.x.size() && i < curve.y.size(); ++i) {
      const double y = transform(curve.y[i]);
      if (!std::isfinite(curve.x[i]) || !std::isfinite(y)) continue;
      x_low = std::min(x_low, curve.x[i]), x_high = std::max(x_high, curve.x[i]);
      y_low = std::min(y_low, y), y_high = std::max(y_high, y);
    }
  }
  std::string svg = format_text("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                                "role=\"img\" aria-label=\"%s\">\n",
                                width, height, width, height, html_escape(title).c_str());
  svg += format_text("<text x=\"%.0f\" y=\"18\" class=\"title\">%s</text>\n", left, html_escape(title).c_str());
  if (!std::isfinite(x_low)) return svg + "<text x=\"70\" y=\"60\">no finite values to plot</text></svg>\n";
  if (x_high == x_low) x_high = x_low + 1;
  if (y_high == y_low) y_high = y_low + 1, y_low -= 1;
  const double y_pad = 0.04 * (y_high - y_low);
  y_low -= y_pad, y_high += y_pad;
  if (std::isfinite(y_min) && std::isfinite(y_max) && y_max > y_min && !log_y) y_low = y_min, y_high = y_max;
  const auto px = [&](double x) { return left + (x - x_low) / (x_high - x_low) * plot_w; };
  const auto py = [&](double y) { return top + (1.0 - (y - y_low) / (y_high - y_low)) * plot_h; };
  svg += format_text("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>\n", left, top,
                     plot_w, plot_h);
  // Ticks: 5 on x; on y, 5 (linear) or the powers of ten and their halves (log).
  for (int t = 0; t <= 4; ++t) {
    const double x = x_low + (x_high - x_low) * t / 4.0;
    svg += format_text("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>"
                       "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">%s</text>\n",
                       px(x), top + plot_h, px(x), top + plot_h + 5, px(x), top + plot_h + 18, number(x).c_str());
  }
  std::vector<double> y_ticks;
  if (log_y && y_high - y_low > 1.0) {
    for (double e = std::ceil(y_low); e <= y_high; e += 1.0) y_ticks.push_back(e);
  } else {
    for (int t = 0; t <= 4; ++t) y_ticks.push_back(y_low + (y_high - y_low) * t / 4.0);
  }
  for (double y : y_ticks) {
    svg += format_text("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                       "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%s</text>\n",
                       left, py(y), left + plot_w, py(y), left - 6, py(y) + 4, number(log_y ? std::pow(10.0, y) : y).c_str());
  }
  svg += format_text("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"axis\">%s</text>\n", left + plot_w / 2,
                     height - 8, html_escape(x_label).c_str());
  svg += format_text("<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" class=\"axis\" transform=\"rotate(-90 14 %.1f)\">%s%s</text>\n",
                     top + plot_h / 2, top + plot_h / 2, html_escape(y_label).c_str(), log_y ? " (log scale)" : "");
  for (size_t c = 0; c < curves.size(); ++c) {
    const char* color = kPalette[c % (sizeof kPalette / sizeof kPalette[0])];
    std::string points;
    const auto flush = [&]() {
      if (!points.empty()) svg += std::string("<polyline fill=\"none\" stroke=\"") + color + "\" stroke-width=\"1.6\" points=\"" + points + "\"/>\n";
      points.clear();
    };
    const Curve& curve = curves[c];
    for (size_t i = 0; i < curve.x.size() && i < curve.y.size(); ++i) {
      const double y = transform(curve.y[i]);
      if (!std::isfinite(y) || !std::isfinite(curve.x[i])) {
        flush();  // a gap where the value is not finite (or not positive on a log scale)
        continue;
      }
      points += format_text("%.1f,%.1f ", px(curve.x[i]), py(y));
    }
    flush();
    const double legend_y = top + 10 + 18.0 * static_cast<double>(c);
    svg += format_text("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>"
                       "<text x=\"%.0f\" y=\"%.1f\" class=\"legend\">%s</text>\n",
                       left + plot_w + 12, legend_y, left + plot_w + 32, legend_y, color, left + plot_w + 38, legend_y + 4,
                       html_escape(curve.name).c_str());
  }
  return svg + "</svg>\n";
}

std::string report_html(const Report& report, const std::string& folder) {
  int counts[4] = {0, 0, 0, 0};
  for (const CheckResult& check : report.checks) ++counts[static_cast<int>(check.verdict)];
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n"
      "<title>preflight check: " + html_escape(report.model) + "</title>\n<style>\n"
      "body{font-family:sans-serif;margin:24px;max-width:1180px;color:#222}\n"
      "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}\n"
      "table.verdicts{border-collapse:collapse;width:100%;font-size:13px}\n"
      "table.verdicts td,table.verdicts th{border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}\n"
      ".pass{background:#d8f3dc}.warn{background:#fff3bf}.fail{background:#ffc9c9}.skipped{background:#e9ecef}\n"
      ".verdict{font-weight:bold;text-transform:uppercase}\n"
      "table.data{border-collapse:collapse;font-size:12px}table.data td,table.data th{border:1px solid #ddd;padding:2px 5px}\n"
      ".scroll{max-height:360px;overflow:auto;margin:8px 0}\n"
      "svg .title{font-size:14px;font-weight:bold}svg .tick{font-size:11px}svg .axis{font-size:12px}svg .legend{font-size:12px}\n"
      "figure{margin:12px 0}figcaption{font-size:13px;color:#555}\n</style>\n</head>\n<body>\n";
  html += "<h1>preflight check: " + html_escape(report.model) + "</h1>\n";
  html += format_text("<p class=\"summary %s\" id=\"verdict\"><span class=\"verdict\">%s</span>: %d pass, %d warn, %d fail, %d "
                      "skipped in %.1f s. Data: %s (%lld training rows, %lld validation rows%s).</p>\n",
                      report.failed() ? "fail" : "pass", report.failed() ? "fail" : "pass", counts[0], counts[1], counts[2],
                      counts[3], report.seconds, html_escape(report.data).c_str(), static_cast<long long>(report.train_rows),
                      static_cast<long long>(report.validation_rows),
                      report.classes ? format_text(", %lld classes", static_cast<long long>(report.classes)).c_str()
                                     : ", regression");

  html += "<h2>Verdicts</h2>\n<table class=\"verdicts\">\n<tr><th>check</th><th>verdict</th><th>measured</th><th>threshold</th>"
          "<th>what it means</th></tr>\n";
  for (const CheckResult& check : report.checks) {
    const char* verdict = verdict_name(check.verdict);
    html += format_text("<tr id=\"check-%s\" class=\"%s\"><td><code>%s</code></td><td class=\"verdict\">%s</td><td>%s</td><td>%s</td><td>",
                        check.id.c_str(), verdict, check.id.c_str(), verdict, number(check.measured).c_str(),
                        number(check.threshold).c_str());
    html += html_escape(check.explanation);
    for (const std::string& file : check.evidence) html += " <a href=\"#" + html_escape(file) + "\">[" + html_escape(file) + "]</a>";
    html += "</td></tr>\n";
  }
  html += "</table>\n";

  html += "<h2>Loss curves</h2>\n";
  std::vector<Curve> losses;
  take_curves(report, "skeleton.loss_decreases", "training", "training", &losses);
  take_curves(report, "skeleton.loss_decreases", "validation", "validation", &losses);
  take_curves(report, "skeleton.input_independent", "zero-input baseline", "zero-input baseline", &losses);
  take_curves(report, "skeleton.overfit_batch", "", "overfit one batch", &losses);
  html += "<figure>" + svg_chart("Loss per step (the skeleton's probes)", losses, "step", "loss", true) +
          "<figcaption>Training and validation loss of skeleton.loss_decreases; the same run with every input zeroed "
          "(skeleton.input_independent), which the real run must beat; one batch of 8 samples memorised "
          "(skeleton.overfit_batch), which must fall towards 0.</figcaption></figure>\n";
  std::vector<Curve> full;
  take_curves(report, "train.generalisation", "", "", &full);
  if (!full.empty()) {
    html += "<figure>" + svg_chart("The full training run (--full)", full, "epoch", "loss", true) +
            "<figcaption>Training and validation loss per epoch (train.generalisation).</figcaption></figure>\n";
  }
  std::vector<Curve> dynamics;
  take_curves(report, "train.prediction_dynamics", "", "", &dynamics);
  if (!dynamics.empty()) {
    const bool classification = report.classes > 0;
    html += "<h2>Prediction dynamics</h2>\n<figure>" +
            svg_chart("Predictions on a fixed batch during training", dynamics, "step",
                      classification ? "probability of the true class" : "prediction", false,
                      classification ? 0.0 : NAN, classification ? 1.0 : NAN) +
            "<figcaption>Each line is one fixed row; healthy training moves them steadily " +
            std::string(classification ? "towards 1" : "towards their targets") +
            " without wild oscillation.</figcaption></figure>\n";
  }

  html += "<h2>Evidence</h2>\n";
  for (const CheckResult& check : report.checks) {
    for (const std::string& file : check.evidence) {
      std::vector<uint8_t> bytes;
      if (!read_bytes(folder + "/" + file, &bytes)) {
        html += "<p id=\"" + html_escape(file) + "\">" + html_escape(file) + ": not found</p>\n";
        continue;
      }
      html += "<figure id=\"" + html_escape(file) + "\">";
      if (ends_with(file, ".png")) {
        html += "<img alt=\"" + html_escape(check.id) + "\" src=\"data:image/png;base64," + base64(bytes) + "\">";
      } else if (ends_with(file, ".csv")) {
        html += csv_table(std::string(bytes.begin(), bytes.end()), file);
      }
      html += "<figcaption><code>" + html_escape(check.id) + "</code>: " + html_escape(check.explanation) + "</figcaption></figure>\n";
    }
  }
  html += "<h2>Data</h2>\n<ul>\n";
  for (const CheckResult& check : report.checks) {
    if (check.id.compare(0, 5, "data.") == 0) {
      html += "<li><code>" + html_escape(check.id) + "</code>: " + html_escape(check.explanation) + "</li>\n";
    }
  }
  html += "</ul>\n<p><small>preflight report schema version " + std::to_string(kReportSchemaVersion) +
          "; report.json beside this file holds the same verdicts.</small></p>\n</body>\n</html>\n";
  return html;
}

}  // namespace preflight
