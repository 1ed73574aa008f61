#include "trainer/checks/evidence_checks.h"

#include <algorithm>
#include <cmath>

#include "runtime/file_io.h"
#include "trainer/checks/image.h"

namespace preflight {
namespace {

CheckResult no_folder(const char* id) {
  return make_result(id, Verdict::kSkipped, 0, 0, "no report folder to write the evidence to (--out)");
}

std::string number_caption(double value) {
  return std::fabs(value - std::round(value)) < 1e-6 ? format_text("%lld", static_cast<long long>(std::llround(value)))
                                                      : format_text("%.3g", value);
}

}  // namespace

int64_t square_side(int64_t elements) {
  const int64_t side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(elements))));
  return elements >= 16 && side * side == elements ? side : 0;
}

CheckResult check_input_view(const Dataset& train, const TrainConfig& config, const std::string& folder) {
  const char* id = "skeleton.input_view";
  if (folder.empty()) return no_folder(id);
  if (train.rows == 0) return make_result(id, Verdict::kSkipped, 0, 0, "no training rows");
  // The rows of the first step, in the order fit() takes them.
  const std::vector<int64_t> order = epoch_order(train.rows, config.seed, 0);
  const int64_t count = std::min(config.batch, train.rows);
  const int64_t width = train.sample_elements();
  std::vector<float> features(static_cast<size_t>(count * width));
  std::vector<int64_t> labels(static_cast<size_t>(count));
  std::vector<float> targets(static_cast<size_t>(count));
  gather_batch(train, order.data(), count, features.data(),
               train.classification ? static_cast<void*>(labels.data()) : static_cast<void*>(targets.data()));
  float low = INFINITY, high = -INFINITY;
  for (float v : features) low = std::min(low, v), high = std::max(high, v);
  std::string rows_listed;
  for (int64_t i = 0; i < std::min<int64_t>(count, 5); ++i) {
    rows_listed += format_text("%s%lld", i ? ", " : "", static_cast<long long>(order[static_cast<size_t>(i)] + 1));
  }
  const auto caption = [&](int64_t i) {
    return train.classification ? number_caption(static_cast<double>(labels[static_cast<size_t>(i)]))
                                : number_caption(targets[static_cast<size_t>(i)]);
  };

  // An image: [H, W, 1 or 3], [H, W], or a flat sample with a square number of values.
  const TensorDesc& s = train.sample;
  int64_t h = 0, w = 0, c = 1;
  bool channels_first = false;
  std::string shown_as;
  if (s.rank == 3 && (s.dims[2] == 1 || s.dims[2] == 3)) {
    h = s.dims[0], w = s.dims[1], c = s.dims[2];
  } else if (s.rank == 3 && (s.dims[0] == 1 || s.dims[0] == 3)) {
    c = s.dims[0], h = s.dims[1], w = s.dims[2];  // NCHW samples, as ONNX models take them
    channels_first = true;
  } else if (s.rank == 2) {
    h = s.dims[0], w = s.dims[1];
  } else if (s.rank == 1 && square_side(s.dims[0])) {
    h = w = square_side(s.dims[0]);
    shown_as = format_text(" (each sample's %lld values shown as %lldx%lld)", static_cast<long long>(s.dims[0]),
                           static_cast<long long>(h), static_cast<long long>(w));
  }
  std::string file;
  if (h > 0) {
    std::vector<Tile> tiles(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      Tile& tile = tiles[static_cast<size_t>(i)];
      tile.height = h, tile.width = w, tile.channels = c;
      tile.values.assign(features.begin() + i * width, features.begin() + (i + 1) * width);
      if (channels_first) {
        for (int64_t p = 0; p < h * w; ++p) {
          for (int64_t k = 0; k < c; ++k) tile.values[static_cast<size_t>(p * c + k)] = features[static_cast<size_t>(i * width + k * h * w + p)];
        }
      }
      tile.caption = caption(i);
    }
    file = "input_view.png";
    const Status status = write_png(folder + "/" + file, tile_grid(tiles, GridOptions()));
    if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
  } else {
    // A table: one line per sample, the label first.
    std::string csv = train.classification ? "row,label" : "row,target";
    for (int64_t f = 0; f < width; ++f) csv += format_text(",x%lld", static_cast<long long>(f + 1));
    csv += "\n";
    for (int64_t i = 0; i < count; ++i) {
      csv += format_text("%lld,%s", static_cast<long long>(order[static_cast<size_t>(i)] + 1), caption(i).c_str());
      for (int64_t f = 0; f < width; ++f) csv += format_text(",%.4g", static_cast<double>(features[static_cast<size_t>(i * width + f)]));
      csv += "\n";
    }
    file = "input_view.csv";
    const Status status = write_file_atomic((folder + "/" + file).c_str(), reinterpret_cast<const uint8_t*>(csv.data()), csv.size());
    if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
  }
  CheckResult result = make_result(
      id, Verdict::kPass, static_cast<double>(count), 0,
      format_text("the first training batch as the network gets it: %lld rows (%s%s), values %.4g to %.4g%s; %s. Look "
                  "at it: are the %s right and the values scaled as intended?",
                  static_cast<long long>(count), rows_listed.c_str(), count > 5 ? ", ..." : "", static_cast<double>(low),
                  static_cast<double>(high), shown_as.c_str(), file.c_str(), train.classification ? "labels" : "targets"));
  result.evidence.push_back(file);
  return result;
}

CheckResult check_first_layer(const graph::Graph& graph, const std::string& when, const std::string& folder) {
  const char* id = "train.first_layer";
  if (folder.empty()) return no_folder(id);
  const int infer = graph.find_method("infer");
  if (infer < 0) return make_result(id, Verdict::kSkipped, 0, 0, "the model has no infer method");
  for (int n : graph.methods[static_cast<size_t>(infer)].nodes) {
    const graph::Node& node = graph.nodes[static_cast<size_t>(n)];
    if ((node.op != OpType::Conv2D && node.op != OpType::Linear) || node.inputs.size() < 2) continue;
    const graph::Tensor& weight = graph.tensors[static_cast<size_t>(node.inputs[1])];
    if (weight.role != fb::TensorRole::Parameter || weight.desc.dtype != DType::F32) continue;
    const float* w = reinterpret_cast<const float*>(weight.data.data());
    std::vector<Tile> tiles;
    std::string layout;
    if (node.op == OpType::Conv2D && weight.desc.rank == 4) {
      // [out, kh, kw, in]: one tile per output channel; more than 3 input channels are averaged.
      const int64_t out = weight.desc.dims[0], kh = weight.desc.dims[1], kw = weight.desc.dims[2], in = weight.desc.dims[3];
      const int64_t channels = in == 3 ? 3 : 1;
      for (int64_t o = 0; o < out; ++o) {
        Tile tile;
        tile.height = kh, tile.width = kw, tile.channels = channels;
        for (int64_t p = 0; p < kh * kw; ++p) {
          const float* at = w + (o * kh * kw + p) * in;
          if (channels == 3) {
            tile.values.insert(tile.values.end(), at, at + 3);
          } else {
            double sum = 0.0;
            for (int64_t i = 0; i < in; ++i) sum += at[i];
            tile.values.push_back(static_cast<float>(sum / static_cast<double>(in)));
          }
        }
        tile.caption = std::to_string(o);
        tiles.push_back(std::move(tile));
      }
      layout = format_text("%lld filters of %lldx%lld%s", static_cast<long long>(out), static_cast<long long>(kh),
                           static_cast<long long>(kw), in == 1 || in == 3 ? "" : " (mean over the input channels)");
    } else if (node.op == OpType::Linear && weight.desc.rank == 2) {
      const int64_t out = weight.desc.dims[0], in = weight.desc.dims[1], side = square_side(in);
      if (side) {
        // One tile per unit: its weights laid out like the (square) input.
        const int64_t shown = std::min<int64_t>(out, 64);
        for (int64_t o = 0; o < shown; ++o) {
          Tile tile;
          tile.height = side, tile.width = side;
          tile.values.assign(w + o * in, w + (o + 1) * in);
          tile.caption = std::to_string(o);
          tiles.push_back(std::move(tile));
        }
        layout = format_text("%lld of %lld units, each's %lld weights as %lldx%lld", static_cast<long long>(shown),
                             static_cast<long long>(out), static_cast<long long>(in), static_cast<long long>(side),
                             static_cast<long long>(side));
      } else {
        Tile tile;
        tile.height = out, tile.width = in;
        tile.values.assign(w, w + out * in);
        tiles.push_back(std::move(tile));
        layout = format_text("the %lldx%lld matrix (a row per unit, a column per input)", static_cast<long long>(out),
                             static_cast<long long>(in));
      }
    } else {
      continue;
    }
    GridOptions options;
    options.per_tile_range = true;
    const std::string file = "first_layer.png";
    const Status status = write_png(folder + "/" + file, tile_grid(tiles, options));
    if (!status.is_ok()) return make_result(id, Verdict::kFail, NAN, 0, status.message());
    CheckResult result = make_result(
        id, Verdict::kPass, static_cast<double>(tiles.size()), 0,
        format_text("'%s' of node '%s' %s: %s; %s. Smooth, varied filters are healthy; noise or identical tiles "
                    "suggest too little training or a dead layer",
                    weight.name.c_str(), node.name.c_str(), when.c_str(), layout.c_str(), file.c_str()));
    result.evidence.push_back(file);
    return result;
  }
  return make_result(id, Verdict::kSkipped, 0, 0, "no Conv2d or Linear layer with a float weight parameter");
}

}  // namespace preflight
