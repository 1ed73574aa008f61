// The ONNX importer's driver: the model's structure checked, every node converted in order
// (onnx_ops.cc), the graph's inputs and outputs set; and the attribute helpers every part uses.
#include "graph/import/onnx_importer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "graph/serialize.h"
#include "runtime/file_io.h"

namespace preflight {
namespace graph {
namespace onnx_import {

bool attr(const NodeProto& node, const char* name, const onnx::AttributeProto** out) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) {
      *out = &a;
      return true;
    }
  }
  return false;
}
int64_t attr_int(const NodeProto& node, const char* name, int64_t fallback) {
  const onnx::AttributeProto* a = nullptr;
  return attr(node, name, &a) ? a->i() : fallback;
}
float attr_float(const NodeProto& node, const char* name, float fallback) {
  const onnx::AttributeProto* a = nullptr;
  return attr(node, name, &a) ? a->f() : fallback;
}
std::string attr_string(const NodeProto& node, const char* name, const std::string& fallback) {
  const onnx::AttributeProto* a = nullptr;
  return attr(node, name, &a) ? a->s() : fallback;
}
std::vector<int64_t> attr_ints(const NodeProto& node, const char* name, std::vector<int64_t> fallback) {
  const onnx::AttributeProto* a = nullptr;
  if (!attr(node, name, &a)) return fallback;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

// The attributes of a node, checked once before any converter reads them: an integer must fit
// the int32 the ops keep (Constant, ConstantOfShape, Slice and Shape hold int64 values by the
// spec), a float must be finite (Clip's bounds may be infinite). Messages show the file's value.
Status check_attributes(const NodeProto& node, const std::string& label) {
  const std::string& op = node.op_type();
  const bool int64_values = op == "Constant" || op == "ConstantOfShape" || op == "Slice" || op == "Shape";
  for (const onnx::AttributeProto& a : node.attribute()) {
    const auto in_range = [](int64_t v) { return v >= -int64_t{INT32_MAX} && v <= int64_t{INT32_MAX}; };
    if (!int64_values && a.type() == onnx::AttributeProto::INT) {
      PF_CHECK(in_range(a.i()), Error::kInvalidModel, "%s: attribute %s = %lld is outside the 32-bit range the op takes",
               label.c_str(), a.name().c_str(), static_cast<long long>(a.i()));
    }
    if (!int64_values && a.type() == onnx::AttributeProto::INTS) {
      for (int k = 0; k < a.ints_size(); ++k) {
        PF_CHECK(in_range(a.ints(k)), Error::kInvalidModel,
                 "%s: attribute %s[%d] = %lld is outside the 32-bit range the op takes", label.c_str(), a.name().c_str(), k,
                 static_cast<long long>(a.ints(k)));
      }
    }
    if (a.type() == onnx::AttributeProto::FLOAT) {
      PF_CHECK(std::isfinite(a.f()) || (op == "Clip" && !std::isnan(a.f())), Error::kInvalidModel,
               "%s: attribute %s = %g is not finite", label.c_str(), a.name().c_str(), static_cast<double>(a.f()));
    }
    if (a.type() == onnx::AttributeProto::FLOATS) {
      for (int k = 0; k < a.floats_size(); ++k) {
        PF_CHECK(std::isfinite(a.floats(k)), Error::kInvalidModel, "%s: attribute %s[%d] = %g is not finite", label.c_str(),
                 a.name().c_str(), k, static_cast<double>(a.floats(k)));
      }
    }
  }
  return Status::ok();
}

// An axis attribute (or perm entry) of a node, in [-rank, rank): its non-negative form. The message
// shows the file's value.
Status normalize_axis(const std::string& source, const std::string& name, const std::string& op, const char* what,
                      int64_t rank, int64_t* axis) {
  PF_CHECK(*axis >= -rank && *axis < rank, Error::kInvalidModel, "%s: node '%s' (%s): %s %lld is outside [%lld, %lld)",
           source.c_str(), name.c_str(), op.c_str(), what, static_cast<long long>(*axis), static_cast<long long>(-rank),
           static_cast<long long>(rank));
  if (*axis < 0) *axis += rank;
  return Status::ok();
}

Status slice_window(const std::string& source, const std::string& name, const std::vector<int64_t>& dims,
                    const std::vector<int64_t>& starts, const std::vector<int64_t>& ends, std::vector<int64_t> axes,
                    std::vector<int64_t> steps, SliceWindow* window) {
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (axes.empty()) {
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  PF_CHECK(ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(), Error::kInvalidModel,
           "%s: node '%s' (Slice): starts, ends, axes and steps have %zu, %zu, %zu and %zu values", source.c_str(), name.c_str(),
           starts.size(), ends.size(), axes.size(), steps.size());
  window->first.assign(dims.size(), 0);
  window->step.assign(dims.size(), 1);
  window->count = dims;
  std::vector<bool> seen(dims.size(), false);
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t axis = axes[k];
    PF_RETURN_IF_ERROR(normalize_axis(source, name, "Slice", "axes entry", rank, &axis));
    const size_t d = static_cast<size_t>(axis);
    PF_CHECK(!seen[d], Error::kInvalidModel, "%s: node '%s' (Slice): axis %lld is sliced twice", source.c_str(), name.c_str(),
             static_cast<long long>(axis));
    seen[d] = true;
    const int64_t dim = dims[d], step = steps[k];
    PF_CHECK(step != 0, Error::kInvalidModel, "%s: node '%s' (Slice): step 0 on axis %lld", source.c_str(), name.c_str(),
             static_cast<long long>(axis));
    // Negative values count from the end; then clamped to [0, dim] (step > 0) or [-1, dim - 1].
    const auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0) v = v < -dim ? lo : v + dim;
      return std::max(lo, std::min(v, hi));
    };
    const int64_t start = step > 0 ? clamp(starts[k], 0, dim) : clamp(starts[k], -1, dim - 1);
    const int64_t end = step > 0 ? clamp(ends[k], 0, dim) : clamp(ends[k], -1, dim - 1);
    const int64_t span = step > 0 ? end - start : start - end, stride = step > 0 ? step : (step == INT64_MIN ? INT64_MAX : -step);
    window->first[d] = start;
    window->step[d] = step;
    window->count[d] = span <= 0 ? 0 : (span - 1) / stride + 1;
  }
  return Status::ok();
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

// The shape after Unsqueeze (a 1 inserted at each of `axes`, counted in the output's rank) or
// Squeeze (the listed dims dropped; with no axes, every dim of 1). Negative axes count from the end.
std::vector<int64_t> squeezed_shape(bool unsqueeze, const std::vector<int64_t>& dims, std::vector<int64_t> axes) {
  const int64_t rank = static_cast<int64_t>(dims.size() + (unsqueeze ? axes.size() : 0));
  for (int64_t& a : axes) a = a < 0 ? a + rank : a;
  std::vector<int64_t> shape;
  if (unsqueeze) {
    shape = dims;
    std::sort(axes.begin(), axes.end());
    for (int64_t a : axes) shape.insert(shape.begin() + std::min<int64_t>(a, static_cast<int64_t>(shape.size())), 1);
    return shape;
  }
  for (int64_t d = 0; d < static_cast<int64_t>(dims.size()); ++d) {
    const bool listed = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!(listed || (axes.empty() && dims[static_cast<size_t>(d)] == 1))) shape.push_back(dims[static_cast<size_t>(d)]);
  }
  return shape;
}

Result<Val*> Importer::get(const NodeProto& node, int index) {
  PF_CHECK(has_input(node, index), Error::kInvalidModel, "%s: node '%s' (%s): input %d is missing", source_.c_str(),
           node.name().c_str(), node.op_type().c_str(), index);
  auto found = values_.find(node.input(index));
  PF_CHECK(found != values_.end(), Error::kInvalidModel, "%s: node '%s' (%s): input '%s' is not produced before it",
           source_.c_str(), node.name().c_str(), node.op_type().c_str(), node.input(index).c_str());
  return &found->second;
}

Result<Graph> Importer::run(const onnx::ModelProto& model) {
  for (const auto& entry : model.opset_import()) {
    if (entry.domain().empty() || entry.domain() == "ai.onnx") opset_ = static_cast<int>(entry.version());
  }
  PF_CHECK(opset_ >= kOnnxMinOpset && opset_ <= kOnnxMaxOpset, Error::kUnsupported,
           "%s: ONNX opset %d; preflight imports opsets %d to %d (torch.onnx.export(..., opset_version=13) works)",
           source_.c_str(), opset_, kOnnxMinOpset, kOnnxMaxOpset);
  PF_CHECK(model.ir_version() >= 3, Error::kInvalidModel,
           "%s: ONNX IR version %lld; models with opsets have IR version 3 or newer", source_.c_str(),
           static_cast<long long>(model.ir_version()));
  const onnx::GraphProto& g = model.graph();
  // The graph's structure, before any converter reads it: names defined once (an input, an
  // initializer, a node's output), every node writes something (the converters and the GELU
  // matcher name output 0), integer attributes fit the 32 bits the ops keep (pads of 2^40 would
  // wrap to 0), float attributes are finite.
  std::map<std::string, std::string> defined;  // value name -> what defines it
  const auto define = [&](const std::string& value, const std::string& by) -> Status {
    if (value.empty()) return Status::ok();  // an optional output left out
    const auto [at, fresh] = defined.emplace(value, by);
    PF_CHECK(fresh, Error::kInvalidModel, "%s: '%s' is defined twice: by %s and by %s", source_.c_str(), value.c_str(),
             at->second.c_str(), by.c_str());
    return Status::ok();
  };
  for (const TensorProto& init : g.initializer()) PF_RETURN_IF_ERROR(define(init.name(), "an initializer"));
  std::set<std::string> input_names;
  for (const onnx::ValueInfoProto& input : g.input()) {
    PF_CHECK(input_names.insert(input.name()).second, Error::kInvalidModel, "%s: graph input '%s' is listed twice",
             source_.c_str(), input.name().c_str());
    if (defined.count(input.name())) continue;  // an initializer listed as an input (older exporters)
    PF_RETURN_IF_ERROR(define(input.name(), "a graph input"));
  }
  for (int n = 0; n < g.node_size(); ++n) {
    const NodeProto& node = g.node(n);
    const std::string label = "node '" + (node.name().empty() ? "#" + std::to_string(n) : node.name()) + "' (" + node.op_type() + ")";
    PF_CHECK(node.output_size() >= 1 && !node.output(0).empty(), Error::kInvalidModel, "%s: %s has no output",
             source_.c_str(), label.c_str());
    for (const std::string& output : node.output()) PF_RETURN_IF_ERROR(define(output, label));
    PF_RETURN_IF_ERROR(check_attributes(node, label).with_context("%s: ", source_.c_str()));
  }
  find_fusions(g);

  // Every node preflight cannot take, grouped by op type and reason: all of them to
  // options_.unsupported, as many groups as fit to the message.
  std::vector<UnsupportedNodes> groups;
  int refused_count = 0;
  // Which values are constants before any node converts: initializers, bound inputs, the outputs
  // of Constant and Shape (shapes are static), and of every node whose inputs all are (but for
  // the ops that keep constants as weights: their outputs are activations).
  std::set<std::string> constants;
  for (const TensorProto& init : g.initializer()) constants.insert(init.name());
  for (const auto& bound : options_.constant_inputs) constants.insert(bound.first);
  std::vector<bool> constant_node(static_cast<size_t>(g.node_size()), false);
  for (int n = 0; n < g.node_size(); ++n) {
    const NodeProto& node = g.node(n);
    bool all = true;
    for (const std::string& input : node.input()) all = all && (input.empty() || constants.count(input));
    const OnnxConverter* converter = find_converter(node.op_type());
    const bool keeps = converter && converter->folding == Folding::kKeepsConstants;
    constant_node[static_cast<size_t>(n)] = all && node.op_type() != "Shape";
    if ((all && !keeps) || node.op_type() == "Shape" || node.op_type() == "Constant") {
      for (const std::string& output : node.output()) constants.insert(output);
    }
  }
  for (int n = 0; n < g.node_size(); ++n) {
    if (fused_parts_.count(n)) continue;
    const NodeProto& node = g.node(n);
    const std::string reason = unsupported_reason(node, opset_, constant_node[static_cast<size_t>(n)]);
    if (reason.empty()) continue;
    ++refused_count;
    auto group = std::find_if(groups.begin(), groups.end(), [&](const UnsupportedNodes& u) {
      return u.op == node.op_type() && u.reason == reason;
    });
    if (group == groups.end()) {
      UnsupportedNodes fresh;
      fresh.op = node.op_type(), fresh.opset = opset_, fresh.reason = reason;
      groups.push_back(fresh);
      group = groups.end() - 1;
    }
    if (group->first_nodes.size() < UnsupportedNodes::kFirstNodes) {
      group->first_nodes.push_back(node.name().empty() ? "#" + std::to_string(n) : node.name());
    }
    ++group->count;
  }
  if (options_.unsupported) *options_.unsupported = groups;
  if (refused_count > 0) {
    std::string summary;
    size_t shown = 0;
    for (; shown < groups.size(); ++shown) {
      const std::string line = describe(groups[shown]);
      if (shown > 0 && summary.size() + line.size() > 260) break;
      summary += (shown ? "; " : "") + line;
    }
    if (shown < groups.size()) summary += "; and " + std::to_string(groups.size() - shown) + " more kinds (the full list follows)";
    return Status::error(Error::kUnsupported, "%s: %d node%s of %zu kind%s preflight cannot import: %s", source_.c_str(),
                         refused_count, refused_count == 1 ? "" : "s", groups.size(), groups.size() == 1 ? "" : "s",
                         summary.c_str());
  }

  for (const TensorProto& init : g.initializer()) {
    Val val;
    val.is_const = true;
    PF_RETURN_IF_ERROR(read_tensor(init, &val.c));
    values_[init.name()] = std::move(val);
  }
  for (const onnx::ValueInfoProto& input : g.input()) {
    if (values_.count(input.name())) continue;  // an initializer listed as an input (older exporters)
    const auto bound = options_.constant_inputs.find(input.name());
    if (bound != options_.constant_inputs.end()) {
      Val val;
      val.is_const = true;
      val.c.dtype = bound->second.dtype;
      val.c.dims = bound->second.dims;
      for (double v : bound->second.values) {
        if (val.c.dtype == DType::F32) val.c.f.push_back(static_cast<float>(v));
        else val.c.i.push_back(static_cast<int64_t>(v));
      }
      PF_CHECK(val.c.count() == static_cast<int64_t>(bound->second.values.size()), Error::kInvalidArgument,
               "%s: input '%s' is bound to %zu values for shape %s", source_.c_str(), input.name().c_str(),
               bound->second.values.size(), dims_text(val.c.dims).c_str());
      values_[input.name()] = std::move(val);
      continue;
    }
    const auto& type = input.type().tensor_type();
    PF_CHECK(type.elem_type() == TensorProto::FLOAT, Error::kUnsupported, "%s: input '%s' has ONNX type %d; preflight takes float inputs",
             source_.c_str(), input.name().c_str(), type.elem_type());
    // No shape at all is not a scalar (a scalar has a shape of no dims): the rank is unknown.
    PF_CHECK(type.has_shape() || options_.input_shapes.count(input.name()), Error::kInvalidModel,
             "%s: input '%s' has no shape (not even a rank); give it: --input-shape %s=D0,D1,...", source_.c_str(),
             input.name().c_str(), input.name().c_str());
    std::vector<int64_t> dims;
    const auto given = options_.input_shapes.find(input.name());
    if (given != options_.input_shapes.end()) {
      dims = given->second;
      PF_CHECK(!type.has_shape() || static_cast<int>(dims.size()) == type.shape().dim_size(), Error::kInvalidArgument,
               "%s: --input-shape %s has %zu dims, the input has %d", source_.c_str(), input.name().c_str(), dims.size(),
               type.shape().dim_size());
    } else {
      for (int d = 0; d < type.shape().dim_size(); ++d) {
        const auto& dim = type.shape().dim(d);
        if (dim.has_dim_value() && dim.dim_value() > 0) {
          dims.push_back(dim.dim_value());
        } else {
          PF_CHECK(d == 0, Error::kInvalidArgument,
                   "%s: input '%s' dimension %d is dynamic ('%s'); give its shape: --input-shape %s=...", source_.c_str(),
                   input.name().c_str(), d, dim.dim_param().c_str(), input.name().c_str());
          dims.push_back(options_.default_batch);
        }
      }
    }
    PF_CHECK(dims.size() <= static_cast<size_t>(kMaxRank), Error::kUnsupported, "%s: input '%s' has rank %zu",
             source_.c_str(), input.name().c_str(), dims.size());
    const bool nhwc_input = options_.nhwc_io && dims.size() == 4;
    std::vector<int64_t> stored = dims;
    if (nhwc_input) stored = {dims[0], dims[2], dims[3], dims[1]};
    TensorDesc desc;
    desc.dtype = DType::F32;
    desc.rank = static_cast<int>(stored.size());
    for (size_t d = 0; d < stored.size(); ++d) desc.dims[d] = stored[d];
    values_[input.name()] = graph_val(builder_.input(input.name(), desc), nhwc_input);
  }
  std::set<std::string> names;
  for (int n = 0; n < g.node_size(); ++n) {
    const NodeProto& node = g.node(n);
    std::string name = node.name().empty() ? node.op_type() + "_" + std::to_string(n) : node.name();
    while (names.count(name)) name += "_";
    names.insert(name);
    if (fused_parts_.count(n)) continue;
    const auto replaced = replaced_at_.find(n);
    if (replaced != replaced_at_.end()) {
      PF_RETURN_IF_ERROR(convert(replaced->second, name));
      continue;
    }
    const auto fused = fused_at_.find(n);
    if (fused != fused_at_.end()) {
      const OpType op = fused->second.first;
      auto x = values_.find(fused->second.second);
      PF_CHECK(x != values_.end() && !x->second.is_const, Error::kUnsupported, "%s: node '%s': %s of a constant",
               source_.c_str(), name.c_str(), op == OpType::Gelu ? "GELU" : "SiLU");
      OpAttrs attrs;
      if (op == OpType::Gelu) attrs.kind = fb::Attrs::GeluAttrs;
      set(node, 0, graph_val(builder_.node(op, attrs, {x->second.v}, name), x->second.nhwc));
      PF_RETURN_IF_ERROR(check(name));
      continue;
    }
    PF_RETURN_IF_ERROR(convert(node, name));
  }
  std::vector<int> outputs;
  for (const onnx::ValueInfoProto& output : g.output()) {
    auto found = values_.find(output.name());
    PF_CHECK(found != values_.end(), Error::kInvalidModel, "%s: output '%s' is produced by no node", source_.c_str(),
             output.name().c_str());
    Val& val = found->second;
    if (val.is_const) {
      // Folded to a constant (the Shape of an input): stored, and copied out by a node.
      TensorDesc desc;
      desc.dtype = val.c.dtype;
      desc.rank = static_cast<int>(val.c.dims.size());
      PF_CHECK(desc.rank <= kMaxRank, Error::kUnsupported, "%s: output '%s' has rank %d", source_.c_str(),
               output.name().c_str(), desc.rank);
      for (int d = 0; d < desc.rank; ++d) desc.dims[d] = val.c.dims[static_cast<size_t>(d)];
      std::vector<uint8_t> bytes(desc.num_bytes());
      if (desc.dtype == DType::F32 && !bytes.empty()) std::memcpy(bytes.data(), val.c.f.data(), bytes.size());
      if (desc.dtype == DType::I64 && !bytes.empty()) std::memcpy(bytes.data(), val.c.i.data(), bytes.size());
      val = graph_val(builder_.constant_bytes(output.name() + ".value", desc, bytes), false);
    }
    Value v = val.v;
    if (val.nhwc && !options_.nhwc_io) v = nchw(&val, output.name());
    // An output that is a model input (Identity, inference Dropout) or already another output
    // gets a copy of its own: a Reshape to the same shape.
    if (v.valid() && (builder_.is_input(v) || builder_.is_constant(v) ||
                      std::find(outputs.begin(), outputs.end(), v.id) != outputs.end())) {
      const TensorDesc& d = builder_.desc(v);
      OpAttrs attrs;
      attrs.kind = fb::Attrs::ReshapeAttrs;
      attrs.reshape.rank = d.rank;
      for (int k = 0; k < d.rank; ++k) attrs.reshape.shape[k] = d.dims[k];
      v = builder_.node(OpType::Reshape, attrs, {v}, output.name() + ".copy");
    }
    outputs.push_back(v.id);
    builder_.output(v, output.name());
  }
  Result<Graph> graph = builder_.finish("infer");
  if (!graph.is_ok()) return graph.status().with_context("%s: ", source_.c_str());
  graph->metadata.description = "imported from " + source_;
  graph->metadata.entries.emplace_back("source", "onnx");
  graph->metadata.entries.emplace_back("onnx_opset", std::to_string(opset_));
  if (!model.producer_name().empty()) {
    graph->metadata.entries.emplace_back("onnx_producer", model.producer_name() + " " + model.producer_version());
  }
  return graph;
}

}  // namespace onnx_import
}  // namespace graph
}  // namespace preflight

namespace preflight {
namespace graph {

using onnx_import::Importer;


Result<Graph> import_onnx_bytes(const uint8_t* data, size_t size, const std::string& base_dir, const std::string& source,
                                const OnnxImportOptions& options) {
  PF_CHECK(size > 0, Error::kInvalidModel, "%s: the file is empty", source.c_str());
  PF_CHECK(size < (size_t{1} << 31), Error::kResourceLimit, "%s: %zu bytes; ONNX files over 2 GiB keep their weights in external data",
           source.c_str(), size);
  onnx::ModelProto model;
  PF_CHECK(model.ParseFromArray(data, static_cast<int>(size)), Error::kInvalidModel,
           "%s: not an ONNX model (the protobuf does not parse: truncated or not ONNX)", source.c_str());
  PF_CHECK(model.has_graph() && model.graph().output_size() > 0, Error::kInvalidModel, "%s: the ONNX model has no graph outputs",
           source.c_str());
  Importer importer(options, base_dir, source);
  return importer.run(model);
}

Result<Graph> import_onnx(const std::string& path, const OnnxImportOptions& options) {
  Result<Bytes> bytes = read_file(path);
  if (!bytes.is_ok()) return bytes.status();
  const size_t slash = path.find_last_of('/');
  const std::string base_dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return import_onnx_bytes(bytes->data(), bytes->size(), base_dir, path, options);
}


}  // namespace graph
}  // namespace preflight
