#include "models/models.h"

#include "graph/builder.h"

namespace preflight {
namespace models {
namespace {

using graph::ConvOptions;
using graph::GraphBuilder;
using graph::Value;

ConvOptions padded(int padding, int stride = 1) {
  ConvOptions options;
  options.padding = padding;
  options.stride = stride;
  return options;
}

Result<graph::Graph> mlp(int64_t batch, uint64_t seed, int64_t inputs, int64_t outputs) {
  GraphBuilder b(seed);
  Value x = b.input("x", DType::F32, {batch, inputs});
  Value h = b.relu(b.linear(x, 128));
  h = b.relu(b.linear(h, 64));
  b.output(b.linear(h, outputs), "logits");
  return b.finish();
}

Result<graph::Graph> cnn8(int64_t batch, uint64_t seed, int64_t outputs) {
  GraphBuilder b(seed);
  Value x = b.input("x", DType::F32, {batch, 8, 8, 1});
  Value h = b.relu(b.conv2d(x, 16, 3, padded(1)));
  h = b.relu(b.conv2d(h, 32, 3, padded(1)));
  h = b.flatten(b.max_pool2d(h, 2, 2), 1);
  b.output(b.linear(h, outputs), "logits");
  return b.finish();
}

Result<graph::Graph> cnn32(int64_t batch, uint64_t seed, int64_t outputs) {
  GraphBuilder b(seed);
  Value x = b.input("x", DType::F32, {batch, 32, 32, 3});
  Value h = b.max_pool2d(b.relu(b.conv2d(x, 32, 3, padded(1))), 2, 2);
  h = b.max_pool2d(b.relu(b.conv2d(h, 64, 3, padded(1))), 2, 2);
  h = b.global_avg_pool(b.relu(b.conv2d(h, 128, 3, padded(1))));
  b.output(b.linear(h, outputs), "logits");
  return b.finish();
}

// One MobileNetV2 inverted residual block.
Value inverted_residual(GraphBuilder& b, Value x, int expansion, int64_t out_channels, int stride) {
  const int64_t channels = b.desc(x).dims[3];
  Value h = x;
  if (expansion != 1) h = b.relu6(b.conv2d(h, channels * expansion, 1));
  h = b.relu6(b.depthwise_conv2d(h, 3, padded(1, stride)));
  h = b.conv2d(h, out_channels, 1);
  return stride == 1 && channels == out_channels ? b.add(x, h) : h;
}

Result<graph::Graph> mbv2(int64_t batch, uint64_t seed, int64_t outputs) {
  GraphBuilder b(seed);
  Value x = b.input("x", DType::F32, {batch, 96, 96, 3});
  Value h = b.relu6(b.conv2d(x, 16, 3, padded(1, 2)));  // 48x48
  struct Stage { int expansion; int64_t channels; int repeats; int stride; };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 3, 2}, {6, 96, 2, 1}, {6, 160, 2, 2}};
  for (const Stage& stage : stages) {
    for (int r = 0; r < stage.repeats; ++r) h = inverted_residual(b, h, stage.expansion, stage.channels, r ? 1 : stage.stride);
  }
  h = b.relu6(b.conv2d(h, 320, 1));
  b.output(b.linear(b.global_avg_pool(h), outputs), "logits");
  return b.finish();
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {"mlp", "cnn8", "cnn32", "mbv2"};
  return names;
}

Result<graph::Graph> build_model(const std::string& name, int64_t batch, uint64_t seed, const ModelShape& shape) {
  PF_CHECK(batch >= 1, Error::kInvalidArgument, "batch must be >= 1, got %lld", static_cast<long long>(batch));
  PF_CHECK(shape.inputs >= 0 && shape.outputs >= 0, Error::kInvalidArgument, "model '%s': inputs and outputs must be >= 1",
           name.c_str());
  PF_CHECK(shape.inputs == 0 || name == "mlp", Error::kInvalidArgument,
           "model '%s' takes images of a fixed size; only mlp takes a number of input features", name.c_str());
  const int64_t outputs = shape.outputs ? shape.outputs : 10;
  Result<graph::Graph> graph = name == "mlp"     ? mlp(batch, seed, shape.inputs ? shape.inputs : 64, outputs)
                               : name == "cnn8"  ? cnn8(batch, seed, outputs)
                               : name == "cnn32" ? cnn32(batch, seed, outputs)
                               : name == "mbv2"  ? mbv2(batch, seed, outputs)
                                                 : Result<graph::Graph>(Status::error(
                                                       Error::kNotFound,
                                                       "unknown model '%s' (known: mlp, cnn8, cnn32, mbv2)",
                                                       name.c_str()));
  if (graph.is_ok()) {
    graph->metadata.description = "preflight reference model " + name;
    graph->metadata.entries.emplace_back("model", name);
    graph->metadata.entries.emplace_back("seed", std::to_string(seed));
  }
  return graph;
}

}  // namespace models
}  // namespace preflight
