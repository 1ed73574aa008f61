// ONNX import (host-only): an .onnx file as torch.onnx.export writes it becomes a preflight graph
// with one method, "infer". docs/onnx.md lists the ops, opsets and attributes it takes.
//
//   - Initializers become parameters (batch norm's running statistics become buffers), so the
//     graph can be exported for training (graph/training.h) like any other.
//   - Layout: 4-D NCHW activations are carried NHWC inside (convolution weights transposed once,
//     here); the model's inputs and outputs keep the file's layout unless `nhwc_io`, so a user
//     feeds exactly the tensors they fed the framework.
//   - The shape subgraphs exporters emit (Shape, Gather, Unsqueeze, Concat, ... on constants)
//     are folded here; what is left must map onto preflight's ops.
//   - Every node preflight cannot take is listed in one error (name, op type, opset, the reason).
//
// Uses Debian's libonnx (the generated protobuf types); nothing here reaches the device library.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace preflight {
namespace graph {

// The nodes of one kind the importer refuses: an op type and the reason (an op preflight lacks,
// an attribute value it does not take), how many nodes, and the first names.
struct UnsupportedNodes {
  std::string op;
  int opset = 0;
  std::string reason;
  int count = 0;
  std::vector<std::string> first_nodes;  // at most kFirstNodes names ("#7" for an unnamed node 7)
  static constexpr size_t kFirstNodes = 3;
};

// "3 nodes (Erf, opset 13): no such op in preflight: 'a', 'b', 'c'" (and "and N more").
std::string describe(const UnsupportedNodes& nodes);

struct OnnxImportOptions {
  // Shapes for inputs with dynamic dimensions ("x" -> {1, 3, 32, 32}); a dynamic first dim with
  // no shape given becomes `default_batch`; any other dynamic dim without a shape is an error.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  int64_t default_batch = 1;
  bool nhwc_io = false;  // 4-D inputs and outputs in NHWC (no edge transposes), for device code
  // Inputs bound to values at conversion (a shape, axes or indices fed as a graph input): they
  // become constants and fold like initializers. Values as doubles; dtype I64 or F32.
  struct Bound {
    DType dtype = DType::I64;
    std::vector<int64_t> dims;
    std::vector<double> values;
  };
  std::map<std::string, Bound> constant_inputs;
  // When set, receives every node the importer refuses, grouped by op type and reason in the order
  // first met, whenever it refuses any (the error message, a fixed 384 bytes, summarises them).
  std::vector<UnsupportedNodes>* unsupported = nullptr;
};

// Oldest and newest default-domain opsets imported.
constexpr int kOnnxMinOpset = 7;
constexpr int kOnnxMaxOpset = 28;

Result<Graph> import_onnx(const std::string& path, const OnnxImportOptions& options = OnnxImportOptions());

// From bytes; `base_dir` resolves external data files, `source` names the model in messages.
Result<Graph> import_onnx_bytes(const uint8_t* data, size_t size, const std::string& base_dir, const std::string& source,
                                const OnnxImportOptions& options = OnnxImportOptions());

// Parses "x=1,3,32,32" into options->input_shapes.
Status parse_input_shape(const std::string& text, OnnxImportOptions* options);
// Parses "shape=1,-1" into options->constant_inputs (a 1-D int64 value).
Status parse_bound_input(const std::string& text, OnnxImportOptions* options);

// True when `path` names an ONNX file (by its extension).
bool is_onnx_path(const std::string& path);

}  // namespace graph
}  // namespace preflight
