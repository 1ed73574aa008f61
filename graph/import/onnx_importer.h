// The ONNX importer's parts, shared by its files (graph/import/onnx_*.cc): the values of an import
// (HostTensor, Val), attribute helpers, the Importer, and the table of converters (one function per
// ONNX op, onnx_ops.cc). Internal to graph/import: the public interface is onnx_import.h.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/builder.h"
#include "graph/import/onnx_import.h"

namespace preflight {
namespace graph {
namespace onnx_import {

using onnx::NodeProto;
using onnx::TensorProto;

// A value of the ONNX graph during import: a constant held here (folded shape arithmetic,
// initializers), or a tensor of the graph being built. `nhwc`: a 4-D value whose ONNX shape is
// NCHW, stored NHWC.
struct HostTensor {
  DType dtype = DType::F32;  // F32 or I64
  std::vector<int64_t> dims;
  std::vector<float> f;
  std::vector<int64_t> i;
  // The element count; INT64_MAX when the dims overflow it (untrusted shapes), -1 for a negative dim.
  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d < 0) return -1;
      if (!checked_mul(n, d, &n)) return INT64_MAX;
    }
    return n;
  }
  double at(int64_t k) const { return dtype == DType::F32 ? f[static_cast<size_t>(k)] : static_cast<double>(i[static_cast<size_t>(k)]); }
  // Element k as an integer: int64 exactly (a double would round INT64_MAX, Slice's "to the end",
  // past the range); a float truncated, NaN as 0, saturating at the int64 range.
  int64_t int_at(int64_t k) const {
    if (dtype == DType::I64) return i[static_cast<size_t>(k)];
    const double v = f[static_cast<size_t>(k)];
    if (v != v) return 0;
    return v >= 9.2233720368547758e18 ? INT64_MAX : v <= -9.2233720368547758e18 ? INT64_MIN : static_cast<int64_t>(v);
  }
};

// The largest constant the importer makes by folding (ConstantOfShape): 16M elements.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 24;

struct Val {
  bool is_const = false;
  HostTensor c;
  Value v;
  bool nhwc = false;
};

// ONNX dim d of an NCHW value is storage dim kStorage[d] of its NHWC form.
constexpr int kStorage[4] = {0, 3, 1, 2};

bool attr(const NodeProto& node, const char* name, const onnx::AttributeProto** out);
int64_t attr_int(const NodeProto& node, const char* name, int64_t fallback);
float attr_float(const NodeProto& node, const char* name, float fallback);
std::string attr_string(const NodeProto& node, const char* name, const std::string& fallback);
std::vector<int64_t> attr_ints(const NodeProto& node, const char* name, std::vector<int64_t> fallback);
// The attributes of a node, checked once before any converter reads them: an integer must fit
// the int32 the ops keep (Constant, ConstantOfShape, Slice and Shape hold int64 values by the
// spec), a float must be finite (Clip's bounds may be infinite). Messages show the file's value.
Status check_attributes(const NodeProto& node, const std::string& label);
// An axis attribute (or perm entry) of a node, in [-rank, rank): its non-negative form. The message
// shows the file's value.
Status normalize_axis(const std::string& source, const std::string& name, const std::string& op, const char* what,
                      int64_t rank, int64_t* axis);
std::string dims_text(const std::vector<int64_t>& dims);
// The shape after Unsqueeze (a 1 inserted at each of `axes`, counted in the output's rank) or
// Squeeze (the listed dims dropped; with no axes, every dim of 1). Negative axes count from the end.
std::vector<int64_t> squeezed_shape(bool unsqueeze, const std::vector<int64_t>& dims, std::vector<int64_t> axes);
// ONNX Slice over `dims`: starts and ends clamped as the spec says (negative steps included),
// axes (default all, in order) and steps (default 1) given or empty. Per dim: the first index, the
// step and the element count (0 when the window is empty).
struct SliceWindow {
  std::vector<int64_t> first, step, count;
};
Status slice_window(const std::string& source, const std::string& name, const std::vector<int64_t>& dims,
                    const std::vector<int64_t>& starts, const std::vector<int64_t>& ends, std::vector<int64_t> axes,
                    std::vector<int64_t> steps, SliceWindow* window);

// The ops this importer takes; the reason a node is refused (an op it lacks, an attribute value
// it does not take), or empty. `constant`: every input of the node is a constant, so an op the
// folding evaluator knows (can_fold) is taken whether or not preflight runs it.
std::string unsupported_reason(const NodeProto& node, int opset, bool constant);

// Whether Importer::fold evaluates `op` on constants (onnx_fold.cc).
bool can_fold(const std::string& op);

// One import: the options, the values met so far (by ONNX name) and the graph being built. Its
// members are public to the converters (onnx_ops.cc), which are free functions taking it.
class Importer {
 public:
  Importer(const OnnxImportOptions& options, std::string base_dir, std::string source)
      : options_(options), base_dir_(std::move(base_dir)), source_(std::move(source)) {}

  Result<Graph> run(const onnx::ModelProto& model);

  // The steps, each defined in the file that says: onnx_tensors.cc (initializers, external
  // data), onnx_layout.cc (NCHW / NHWC), onnx_fold.cc (constant folding), onnx_fusion.cc (GELU),
  // onnx_ops.cc (one converter per ONNX op, and the table of them), onnx_import.cc (the rest).
  Status read_tensor(const TensorProto& proto, HostTensor* out);
  Status convert(const NodeProto& node, const std::string& name);
  Result<Val*> get(const NodeProto& node, int index);
  bool has_input(const NodeProto& node, int index) const { return index < node.input_size() && !node.input(index).empty(); }
  void set(const NodeProto& node, int index, Val value) { values_[node.output(index)] = std::move(value); }

  // Graph values.
  std::vector<int64_t> onnx_dims(const Val& val) const;
  Value materialize(const Val& val, const std::string& name, bool nhwc);
  Value nchw(Val* val, const std::string& name);
  Value nhwc(Val* val, const std::string& name);
  Value transpose(Value v, std::initializer_list<int> perm, const std::string& name);
  Value reshape(Value v, const std::vector<int64_t>& shape, const std::string& name);  // rank <= kMaxRank
  Val graph_val(Value v, bool nhwc) const {
    Val val;
    val.v = v;
    val.nhwc = nhwc;
    return val;
  }
  Status check(const std::string&) const {
    return builder_.status().is_ok() ? Status::ok() : builder_.status().with_context("%s: ", source_.c_str());
  }

  Status fold(const NodeProto& node, const std::string& name);
  void find_fusions(const onnx::GraphProto& g);

  const OnnxImportOptions& options_;
  std::string base_dir_, source_;
  GraphBuilder builder_;
  std::map<std::string, Val> values_;
  int opset_ = 0;
  // Patterns imported as one op (onnx_fusion.cc): GELU as exporters write it before opset 20,
  // x * (1 + erf(x / sqrt(2))) * 0.5, and SiLU, x * sigmoid(x). The nodes folded into the op
  // (skipped), and the last node of each pattern -> the op and the name of x.
  std::set<int> fused_parts_;
  std::map<int, std::pair<OpType, std::string>> fused_at_;
  // LayerNorm as opset-13 exports write it (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, and
  // the Mul and Add of a constant scale and bias): the last node -> the LayerNormalization node
  // imported in its place (its other nodes are in fused_parts_).
  std::map<int, NodeProto> replaced_at_;
};

// One ONNX op's converter: reads the node's inputs (im.get), adds nodes to im.builder_ and sets
// the node's outputs (im.set); errors name the file, the node and the op.
using ConvertFn = Status (*)(Importer& im, const NodeProto& node, const std::string& name);

// How a node whose inputs are all constants is treated.
enum class Folding {
  kFolds,           // evaluated here (Importer::fold): the shape arithmetic exporters emit
  kKeepsConstants,  // converted all the same: constant weights become parameters (Conv, Gemm, ...)
  kOwnRule,         // the converter decides (Constant, Identity, Shape: always constants or pass-through)
};

struct OnnxConverter {
  const char* op;      // the ONNX op type, in the default domain
  ConvertFn convert;   // null: preflight takes the op only on constants (folded)
  Folding folding;
};

// The converter of an ONNX op type, or null when preflight has none.
const OnnxConverter* find_converter(const std::string& op);

}  // namespace onnx_import
}  // namespace graph
}  // namespace preflight
