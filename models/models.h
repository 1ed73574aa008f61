// The reference models: the workloads of the tests and the benchmarks.
//
//   mlp    x [B, 64] -> linear 128, relu -> linear 64, relu -> linear 10
//   cnn8   x [B, 8, 8, 1] (digits) -> conv3x3 16 (pad 1), relu -> conv3x3 32 (pad 1), relu
//          -> maxpool 2 -> flatten -> linear 10
//   cnn32  x [B, 32, 32, 3] -> conv3x3 32, relu -> maxpool 2 -> conv3x3 64, relu -> maxpool 2
//          -> conv3x3 128, relu -> global avg pool -> linear 10            (convs pad 1)
//   mbv2   x [B, 96, 96, 3] -> MobileNetV2-style: conv3x3/2 16, relu6, then inverted residual
//          blocks (1x1 expand, relu6, 3x3 depthwise, relu6, 1x1 project, residual add when the
//          shape allows), 1x1 conv 320, relu6, global avg pool, linear 10
// Every model has one method, "infer": input "x", output "logits". The shapes above are the
// defaults; ModelShape changes the number of outputs (classes, or 1 for regression) and mlp's
// number of input features, so one builder serves every bundled data set.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace preflight {
namespace models {

const std::vector<std::string>& model_names();

struct ModelShape {
  int64_t inputs = 0;   // mlp's input features (0: 64)
  int64_t outputs = 0;  // the final layer's width (0: 10)
};

// Builds `name` for batch size `batch` with parameters initialised from `seed`. Fails for an
// unknown name, listing the known ones.
Result<graph::Graph> build_model(const std::string& name, int64_t batch = 1, uint64_t seed = 0,
                                 const ModelShape& shape = ModelShape());

}  // namespace models
}  // namespace preflight
