#include "graph/import/onnx_import.h"

#include <fcntl.h>
#include <onnx/onnx_pb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "graph/builder.h"
#include "graph/serialize.h"
#include "runtime/file_io.h"

namespace preflight {
namespace graph {
namespace {

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

// The ops this importer takes; the reason a node is refused, or empty.
std::string unsupported_reason(const NodeProto& node, int opset) {
  static const std::set<std::string> kOps = {
      "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "Sigmoid", "Tanh", "Flatten",
      "Reshape", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Softmax", "LogSoftmax",
      "Transpose", "Concat", "Identity", "Dropout", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast",
      "ConstantOfShape", "Slice", "LayerNormalization"};
  if (!node.domain().empty() && node.domain() != "ai.onnx") return "domain '" + node.domain() + "' is not ONNX's";
  if (!kOps.count(node.op_type())) return "no such op in preflight";
  const std::string& op = node.op_type();
  if (op == "Conv" || op == "MaxPool" || op == "AveragePool") {
    const std::vector<int64_t> kernel = attr_ints(node, "kernel_shape", {});
    if (!kernel.empty() && kernel.size() != 2) return "only 2-D windows (kernel_shape has " + std::to_string(kernel.size()) + " dims)";
    if (attr_int(node, "ceil_mode", 0) != 0) return "ceil_mode=1";
    if (op != "Conv" && attr_int(node, "storage_order", 0) != 0) return "storage_order=1";
    const std::vector<int64_t> dilations = attr_ints(node, "dilations", {1, 1});
    if (op != "Conv" && (dilations.size() != 2 || dilations[0] != 1 || dilations[1] != 1)) return "pooling with dilations";
    if (op == "MaxPool" && node.output_size() > 1 && !node.output(1).empty()) return "MaxPool's indices output";
    const std::string pad = attr_string(node, "auto_pad", "NOTSET");
    if (pad != "NOTSET" && pad != "VALID" && pad != "SAME_UPPER" && pad != "SAME_LOWER") return "auto_pad=" + pad;
  }
  if (op == "BatchNormalization" && (attr_int(node, "training_mode", 0) != 0 || node.output_size() > 1)) {
    return "training_mode (export the model in eval mode)";
  }
  if ((op == "Softmax" || op == "LogSoftmax") && opset < 13 && attr_int(node, "axis", 1) != 1 && attr_int(node, "axis", 1) != -1) {
    return "axis other than 1 or -1 before opset 13 (coerced to 2-D)";
  }
  if (op == "Reshape" && attr_int(node, "allowzero", 0) != 0) return "allowzero=1";
  if (op == "Dropout" && node.output_size() > 1 && !node.output(1).empty()) return "the mask output (boolean)";
  if (op == "LayerNormalization") {
    for (int o = 1; o < node.output_size(); ++o) {
      if (!node.output(o).empty()) return "the Mean and InvStdDev outputs";
    }
  }
  return "";
}

class Importer {
 public:
  Importer(const OnnxImportOptions& options, std::string base_dir, std::string source)
      : options_(options), base_dir_(std::move(base_dir)), source_(std::move(source)) {}

  Result<Graph> run(const onnx::ModelProto& model);

 private:
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
  Val graph_val(Value v, bool nhwc) const {
    Val val;
    val.v = v;
    val.nhwc = nhwc;
    return val;
  }
  Status check(const std::string&) const {
    return builder_.status().is_ok() ? Status::ok() : builder_.status().with_context("%s: ", source_.c_str());
  }

  Status binary(const NodeProto& node, const std::string& name, OpType op);
  Status conv(const NodeProto& node, const std::string& name);
  Status pool(const NodeProto& node, const std::string& name);
  Status gemm(const NodeProto& node, const std::string& name, bool matmul);
  Status fold(const NodeProto& node, const std::string& name);
  void find_gelus(const onnx::GraphProto& g);

  const OnnxImportOptions& options_;
  std::string base_dir_, source_;
  GraphBuilder builder_;
  std::map<std::string, Val> values_;
  int opset_ = 0;
  // GELU as exporters write it before opset 20, x * (1 + erf(x / sqrt(2))) * 0.5: the nodes folded
  // into one Gelu (skipped), and the last node of each pattern -> the name of x.
  std::set<int> gelu_parts_;
  std::map<int, std::string> gelu_at_;
};

Status Importer::read_tensor(const TensorProto& proto, HostTensor* out) {
  const std::string& name = proto.name();
  out->dims.assign(proto.dims().begin(), proto.dims().end());
  for (int64_t d : out->dims) PF_CHECK(d >= 0 && d < (int64_t{1} << 40), Error::kInvalidModel, "%s: tensor '%s' has dim %lld", source_.c_str(), name.c_str(), static_cast<long long>(d));
  const int64_t count = out->count();
  PF_CHECK(count <= (int64_t{1} << 32), Error::kResourceLimit, "%s: tensor '%s' has %lld elements", source_.c_str(), name.c_str(), static_cast<long long>(count));
  std::string raw = proto.raw_data();
  if (proto.data_location() == TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    bool bad_number = false;
    const auto parse_count = [&bad_number](const std::string& text) {
      char* end = nullptr;
      errno = 0;
      const long long value = std::strtoll(text.c_str(), &end, 10);
      bad_number = bad_number || text.empty() || *end != '\0' || errno != 0 || value < 0;
      return static_cast<int64_t>(value);
    };
    for (const auto& entry : proto.external_data()) {
      if (entry.key() == "location") location = entry.value();
      if (entry.key() == "offset") offset = parse_count(entry.value());
      if (entry.key() == "length") length = parse_count(entry.value());
    }
    PF_CHECK(!bad_number, Error::kInvalidModel,
             "%s: initializer '%s': external data offset or length is not a whole number >= 0", source_.c_str(), name.c_str());
    PF_CHECK(!location.empty() && location.find("..") == std::string::npos && location[0] != '/', Error::kInvalidModel,
             "%s: initializer '%s': external data location '%s' is not a file beside the model", source_.c_str(),
             name.c_str(), location.c_str());
    // Opened one component at a time under the model's folder, never through a symlink, and only a
    // regular file: a location can name no file outside the folder (a link to /etc/passwd, a folder
    // link, a device, a FIFO). Only the bytes asked for, bounded by the file and the tensor, are read.
    uint64_t file_size = 0;
    Result<int> opened = open_in_folder(base_dir_, location, &file_size);
    if (!opened.is_ok()) {
      return opened.status().with_context("%s: initializer '%s': external data '%s': ", source_.c_str(), name.c_str(),
                                          location.c_str());
    }
    const int fd = *opened;
    const std::string path = base_dir_ + "/" + location;
    const auto refuse = [&](Status status) {
      ::close(fd);
      return status;
    };
    if (static_cast<uint64_t>(offset) > file_size) {
      return refuse(Status::error(Error::kInvalidModel, "%s: initializer '%s': offset %lld is beyond the end of '%s' (%llu bytes)",
                                  source_.c_str(), name.c_str(), static_cast<long long>(offset), path.c_str(),
                                  static_cast<unsigned long long>(file_size)));
    }
    const uint64_t available = file_size - static_cast<uint64_t>(offset);
    if (length >= 0 && static_cast<uint64_t>(length) > available) {
      return refuse(Status::error(Error::kInvalidModel, "%s: initializer '%s': length %lld at offset %lld runs past the end "
                                  "of '%s' (%llu bytes)", source_.c_str(), name.c_str(), static_cast<long long>(length),
                                  static_cast<long long>(offset), path.c_str(), static_cast<unsigned long long>(file_size)));
    }
    const uint64_t take = length < 0 ? available : static_cast<uint64_t>(length);
    if (take > static_cast<uint64_t>(count) * 8) {
      return refuse(Status::error(Error::kInvalidModel, "%s: initializer '%s': %llu bytes of external data for %lld elements",
                                  source_.c_str(), name.c_str(), static_cast<unsigned long long>(take), static_cast<long long>(count)));
    }
    if (take > input_budget()) return refuse(over_input_budget(path.c_str(), "the external data"));
    raw.assign(static_cast<size_t>(take), '\0');
    size_t done = 0;
    while (done < take) {
      const ssize_t got = ::pread(fd, &raw[done], static_cast<size_t>(take) - done, static_cast<off_t>(offset + static_cast<int64_t>(done)));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      done += static_cast<size_t>(got);
    }
    ::close(fd);
    PF_CHECK(done == take, Error::kInvalidModel, "%s: initializer '%s': cannot read %llu bytes of '%s'",
             source_.c_str(), name.c_str(), static_cast<unsigned long long>(take), path.c_str());
  }
  const auto size_check = [&](size_t element_bytes) -> Status {
    PF_CHECK(raw.size() == static_cast<size_t>(count) * element_bytes, Error::kInvalidModel,
             "%s: tensor '%s' %s has %zu bytes of data, its shape needs %lld", source_.c_str(), name.c_str(),
             dims_text(out->dims).c_str(), raw.size(), static_cast<long long>(count) * static_cast<long long>(element_bytes));
    return Status::ok();
  };
  switch (proto.data_type()) {
    case TensorProto::FLOAT:
      out->dtype = DType::F32;
      if (!raw.empty() || proto.float_data_size() == 0) {
        PF_RETURN_IF_ERROR(size_check(4));
        out->f.resize(static_cast<size_t>(count));
        if (count) std::memcpy(out->f.data(), raw.data(), raw.size());
      } else {
        out->f.assign(proto.float_data().begin(), proto.float_data().end());
      }
      PF_CHECK(static_cast<int64_t>(out->f.size()) == count, Error::kInvalidModel, "%s: tensor '%s' has %zu values for shape %s",
               source_.c_str(), name.c_str(), out->f.size(), dims_text(out->dims).c_str());
      return Status::ok();
    case TensorProto::DOUBLE: {
      out->dtype = DType::F32;
      std::vector<double> values;
      if (!raw.empty() || proto.double_data_size() == 0) {
        PF_RETURN_IF_ERROR(size_check(8));
        values.resize(static_cast<size_t>(count));
        if (count) std::memcpy(values.data(), raw.data(), raw.size());
      } else {
        values.assign(proto.double_data().begin(), proto.double_data().end());
      }
      out->f.assign(values.begin(), values.end());
      PF_CHECK(static_cast<int64_t>(out->f.size()) == count, Error::kInvalidModel, "%s: tensor '%s' has %zu values for shape %s",
               source_.c_str(), name.c_str(), out->f.size(), dims_text(out->dims).c_str());
      return Status::ok();
    }
    case TensorProto::INT64:
    case TensorProto::INT32: {
      out->dtype = DType::I64;
      const bool wide = proto.data_type() == TensorProto::INT64;
      if (!raw.empty() || (wide ? proto.int64_data_size() : proto.int32_data_size()) == 0) {
        PF_RETURN_IF_ERROR(size_check(wide ? 8 : 4));
        out->i.resize(static_cast<size_t>(count));
        for (int64_t k = 0; k < count; ++k) {
          if (wide) {
            std::memcpy(&out->i[static_cast<size_t>(k)], raw.data() + 8 * k, 8);
          } else {
            int32_t v;
            std::memcpy(&v, raw.data() + 4 * k, 4);
            out->i[static_cast<size_t>(k)] = v;
          }
        }
      } else if (wide) {
        out->i.assign(proto.int64_data().begin(), proto.int64_data().end());
      } else {
        out->i.assign(proto.int32_data().begin(), proto.int32_data().end());
      }
      PF_CHECK(static_cast<int64_t>(out->i.size()) == count, Error::kInvalidModel, "%s: tensor '%s' has %zu values for shape %s",
               source_.c_str(), name.c_str(), out->i.size(), dims_text(out->dims).c_str());
      return Status::ok();
    }
    default:
      return Status::error(Error::kUnsupported, "%s: tensor '%s' has ONNX data type %d (preflight takes float, double, int32, int64)",
                           source_.c_str(), name.c_str(), proto.data_type());
  }
}

Result<Val*> Importer::get(const NodeProto& node, int index) {
  PF_CHECK(has_input(node, index), Error::kInvalidModel, "%s: node '%s' (%s): input %d is missing", source_.c_str(),
           node.name().c_str(), node.op_type().c_str(), index);
  auto found = values_.find(node.input(index));
  PF_CHECK(found != values_.end(), Error::kInvalidModel, "%s: node '%s' (%s): input '%s' is not produced before it",
           source_.c_str(), node.name().c_str(), node.op_type().c_str(), node.input(index).c_str());
  return &found->second;
}

std::vector<int64_t> Importer::onnx_dims(const Val& val) const {
  if (val.is_const) return val.c.dims;
  const TensorDesc& d = builder_.desc(val.v);
  std::vector<int64_t> dims(d.dims, d.dims + d.rank);
  if (val.nhwc) dims = {d.dims[0], d.dims[3], d.dims[1], d.dims[2]};
  return dims;
}

// A constant as a graph tensor (f32), in NHWC storage when `nhwc` (right-aligned to rank 4).
Value Importer::materialize(const Val& val, const std::string& name, bool nhwc) {
  if (!val.is_const) return val.v;
  std::vector<float> values(static_cast<size_t>(val.c.count()));
  for (int64_t k = 0; k < val.c.count(); ++k) values[static_cast<size_t>(k)] = static_cast<float>(val.c.at(k));
  std::vector<int64_t> dims = val.c.dims;
  if (nhwc && dims.size() <= 4) {
    while (dims.size() < 4) dims.insert(dims.begin(), 1);
    const std::vector<int64_t> nchw = dims;
    dims = {nchw[0], nchw[2], nchw[3], nchw[1]};
    std::vector<float> moved(values.size());
    for (int64_t n = 0; n < nchw[0]; ++n)
      for (int64_t c = 0; c < nchw[1]; ++c)
        for (int64_t h = 0; h < nchw[2]; ++h)
          for (int64_t w = 0; w < nchw[3]; ++w)
            moved[static_cast<size_t>(((n * nchw[2] + h) * nchw[3] + w) * nchw[1] + c)] =
                values[static_cast<size_t>(((n * nchw[1] + c) * nchw[2] + h) * nchw[3] + w)];
    values.swap(moved);
  }
  TensorDesc desc;
  desc.dtype = DType::F32;
  desc.rank = static_cast<int>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) desc.dims[d] = dims[d];
  return builder_.constant(name, desc, values);
}

Value Importer::transpose(Value v, std::initializer_list<int> perm, const std::string& name) {
  OpAttrs attrs;
  attrs.kind = fb::Attrs::TransposeAttrs;
  attrs.transpose.rank = static_cast<int>(perm.size());
  std::copy(perm.begin(), perm.end(), attrs.transpose.perm);
  return builder_.node(OpType::Transpose, attrs, {v}, name);
}

Value Importer::nchw(Val* val, const std::string& name) {
  if (val->is_const) return materialize(*val, name, false);
  return val->nhwc ? transpose(val->v, {0, 3, 1, 2}, name + ".to_nchw") : val->v;
}

Value Importer::nhwc(Val* val, const std::string& name) {
  if (val->is_const) return materialize(*val, name, true);
  return val->nhwc ? val->v : transpose(val->v, {0, 2, 3, 1}, name + ".to_nhwc");
}

Status Importer::binary(const NodeProto& node, const std::string& name, OpType op) {
  Result<Val*> a = get(node, 0);
  if (!a.is_ok()) return a.status();
  Result<Val*> b = get(node, 1);
  if (!b.is_ok()) return b.status();
  if ((*a)->is_const && (*b)->is_const) return fold(node, name);
  // NHWC when a 4-D operand already is and every other operand can follow (a constant of rank
  // <= 4, or a 4-D activation); otherwise the ONNX layout.
  bool to_nhwc = false, can = true;
  for (Val* v : {*a, *b}) {
    if (!v->is_const && v->nhwc) to_nhwc = true;
    if (!v->is_const && !v->nhwc && onnx_dims(*v).size() != 4) can = false;
    if (v->is_const && v->c.dims.size() > 4) can = false;
  }
  to_nhwc = to_nhwc && can;
  const Value x = to_nhwc ? nhwc(*a, name + ".a") : nchw(*a, name + ".a");
  const Value y = to_nhwc ? nhwc(*b, name + ".b") : nchw(*b, name + ".b");
  set(node, 0, graph_val(builder_.node(op, OpAttrs(), {x, y}, name), to_nhwc));
  return check(name);
}

Status Importer::conv(const NodeProto& node, const std::string& name) {
  Result<Val*> x = get(node, 0);
  if (!x.is_ok()) return x.status();
  Result<Val*> w = get(node, 1);
  if (!w.is_ok()) return w.status();
  const std::vector<int64_t> w_dims = onnx_dims(**w);
  PF_CHECK(w_dims.size() == 4 && ((*w)->is_const ? (*w)->c.dtype == DType::F32 : !(*w)->nhwc), Error::kUnsupported,
           "%s: node '%s' (Conv): the weight '%s' must be a 4-D float tensor", source_.c_str(), name.c_str(),
           node.input(1).c_str());
  const std::vector<int64_t> in = onnx_dims(**x);
  PF_CHECK(in.size() == 4, Error::kUnsupported, "%s: node '%s' (Conv): only 2-D convolution (input %s)", source_.c_str(),
           name.c_str(), dims_text(in).c_str());
  const HostTensor& weight = (*w)->c;
  const int64_t out_c = w_dims[0], in_per_group = w_dims[1], kh = w_dims[2], kw = w_dims[3];
  OpAttrs attrs;
  attrs.kind = fb::Attrs::Conv2dAttrs;
  Conv2dAttrs& c = attrs.conv;
  c.groups = static_cast<int>(attr_int(node, "group", 1));
  const std::vector<int64_t> strides = attr_ints(node, "strides", {1, 1}), dilations = attr_ints(node, "dilations", {1, 1});
  std::vector<int64_t> pads = attr_ints(node, "pads", {0, 0, 0, 0});
  PF_CHECK(strides.size() == 2 && dilations.size() == 2 && pads.size() == 4, Error::kInvalidModel,
           "%s: node '%s' (Conv): strides, dilations and pads must have 2, 2 and 4 values", source_.c_str(), name.c_str());
  c.stride_h = static_cast<int>(strides[0]), c.stride_w = static_cast<int>(strides[1]);
  c.dilation_h = static_cast<int>(dilations[0]), c.dilation_w = static_cast<int>(dilations[1]);
  const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  if (auto_pad == "VALID") pads = {0, 0, 0, 0};
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const int64_t kernel[2] = {kh, kw};
    for (int d = 0; d < 2; ++d) {
      const int64_t size = in[2 + static_cast<size_t>(d)], stride = strides[static_cast<size_t>(d)];
      const int64_t out = (size + stride - 1) / stride;
      const int64_t total = std::max<int64_t>(0, (out - 1) * stride + (kernel[d] - 1) * dilations[static_cast<size_t>(d)] + 1 - size);
      const int64_t small = total / 2, large = total - small;
      pads[static_cast<size_t>(d)] = auto_pad == "SAME_UPPER" ? small : large;
      pads[static_cast<size_t>(d) + 2] = auto_pad == "SAME_UPPER" ? large : small;
    }
  }
  c.pad_top = static_cast<int>(pads[0]), c.pad_left = static_cast<int>(pads[1]);
  c.pad_bottom = static_cast<int>(pads[2]), c.pad_right = static_cast<int>(pads[3]);
  // OIHW -> OHWI: once, here, for an initializer; a weight computed by the model (or fed as an
  // input) is transposed when it runs.
  Value kernel;
  if ((*w)->is_const) {
    std::vector<float> ohwi(weight.f.size());
    for (int64_t o = 0; o < out_c; ++o)
      for (int64_t i = 0; i < in_per_group; ++i)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t z = 0; z < kw; ++z)
            ohwi[static_cast<size_t>(((o * kh + y) * kw + z) * in_per_group + i)] =
                weight.f[static_cast<size_t>(((o * in_per_group + i) * kh + y) * kw + z)];
    kernel = builder_.parameter(node.input(1), make_desc(DType::F32, {out_c, kh, kw, in_per_group}), ohwi);
  } else {
    kernel = nhwc(*w, name + ".w");  // the same permutation (0, 2, 3, 1)
  }
  std::vector<Value> inputs = {nhwc(*x, name + ".x"), kernel};
  if (has_input(node, 2)) {
    Result<Val*> bias = get(node, 2);
    if (!bias.is_ok()) return bias.status();
    PF_CHECK(onnx_dims(**bias) == std::vector<int64_t>{out_c}, Error::kUnsupported,
             "%s: node '%s' (Conv): the bias '%s' must have %lld values", source_.c_str(), name.c_str(),
             node.input(2).c_str(), static_cast<long long>(out_c));
    inputs.push_back((*bias)->is_const ? builder_.parameter(node.input(2), make_desc(DType::F32, {out_c}), (*bias)->c.f)
                                       : (*bias)->v);
  }
  set(node, 0, graph_val(builder_.node(OpType::Conv2D, attrs, inputs, name), true));
  return check(name);
}

Status Importer::pool(const NodeProto& node, const std::string& name) {
  Result<Val*> x = get(node, 0);
  if (!x.is_ok()) return x.status();
  const std::vector<int64_t> in = onnx_dims(**x);
  PF_CHECK(in.size() == 4, Error::kUnsupported, "%s: node '%s' (%s): only 2-D pooling (input %s)", source_.c_str(),
           name.c_str(), node.op_type().c_str(), dims_text(in).c_str());
  OpAttrs attrs;
  if (node.op_type() == "GlobalAveragePool") {
    attrs.kind = fb::Attrs::GlobalPoolAttrs;
    attrs.global_pool.keep_dims = true;  // [N, C, 1, 1] as ONNX has it
    set(node, 0, graph_val(builder_.node(OpType::GlobalAvgPool, attrs, {nhwc(*x, name + ".x")}, name), true));
    return check(name);
  }
  attrs.kind = fb::Attrs::Pool2dAttrs;
  Pool2dAttrs& p = attrs.pool;
  const std::vector<int64_t> kernel = attr_ints(node, "kernel_shape", {}), strides = attr_ints(node, "strides", {1, 1});
  std::vector<int64_t> pads = attr_ints(node, "pads", {0, 0, 0, 0});
  PF_CHECK(kernel.size() == 2 && strides.size() == 2 && pads.size() == 4, Error::kInvalidModel,
           "%s: node '%s' (%s): kernel_shape, strides and pads must have 2, 2 and 4 values", source_.c_str(), name.c_str(),
           node.op_type().c_str());
  const std::string auto_pad = attr_string(node, "auto_pad", "NOTSET");
  if (auto_pad == "VALID") pads = {0, 0, 0, 0};
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t d = 0; d < 2; ++d) {
      const int64_t out = (in[2 + d] + strides[d] - 1) / strides[d];
      const int64_t total = std::max<int64_t>(0, (out - 1) * strides[d] + kernel[d] - in[2 + d]);
      pads[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[d + 2] = total - pads[d];
    }
  }
  p.kernel_h = static_cast<int>(kernel[0]), p.kernel_w = static_cast<int>(kernel[1]);
  p.stride_h = static_cast<int>(strides[0]), p.stride_w = static_cast<int>(strides[1]);
  p.pad_top = static_cast<int>(pads[0]), p.pad_left = static_cast<int>(pads[1]);
  p.pad_bottom = static_cast<int>(pads[2]), p.pad_right = static_cast<int>(pads[3]);
  p.count_include_pad = attr_int(node, "count_include_pad", 0) != 0;
  const OpType op = node.op_type() == "MaxPool" ? OpType::MaxPool2D : OpType::AvgPool2D;
  set(node, 0, graph_val(builder_.node(op, attrs, {nhwc(*x, name + ".x")}, name), true));
  return check(name);
}

// Gemm (Y = alpha A B' + beta C) and MatMul with a constant right-hand side become Linear with
// the weight transposed once; otherwise MatMul.
Status Importer::gemm(const NodeProto& node, const std::string& name, bool matmul) {
  Result<Val*> a = get(node, 0);
  if (!a.is_ok()) return a.status();
  Result<Val*> b = get(node, 1);
  if (!b.is_ok()) return b.status();
  const bool trans_b = !matmul && attr_int(node, "transB", 0) != 0;
  const float alpha = matmul ? 1.0f : attr_float(node, "alpha", 1.0f), beta = matmul ? 1.0f : attr_float(node, "beta", 1.0f);
  Value x = nchw(*a, name + ".a");
  if (!matmul && attr_int(node, "transA", 0) != 0) x = transpose(x, {1, 0}, name + ".a_transposed");
  if (!(*b)->is_const || (*b)->c.dims.size() != 2) {
    OpAttrs attrs;
    attrs.kind = fb::Attrs::MatMulAttrs;
    attrs.matmul.transpose_b = trans_b;
    Value y = builder_.node(OpType::MatMul, attrs, {x, nchw(*b, name + ".b")}, name);
    if (alpha != 1.0f) {
      Val factor;
      factor.is_const = true;
      factor.c.f = {alpha};
      y = builder_.node(OpType::Mul, OpAttrs(), {y, materialize(factor, name + ".alpha", false)}, name + ".alpha_ab");
    }
    if (!matmul && has_input(node, 2)) {
      Result<Val*> c = get(node, 2);
      if (!c.is_ok()) return c.status();
      Val scaled = **c;
      if (scaled.is_const) {
        for (float& v : scaled.c.f) v *= beta;
      } else if (beta != 1.0f) {
        Val factor;
        factor.is_const = true;
        factor.c.f = {beta};
        scaled = graph_val(builder_.node(OpType::Mul, OpAttrs(), {scaled.v, materialize(factor, name + ".beta", false)},
                                         name + ".beta_c"), false);
      }
      y = builder_.node(OpType::Add, OpAttrs(), {y, nchw(&scaled, name + ".c")}, name + ".bias");
    }
    set(node, 0, graph_val(y, false));
    return check(name);
  }
  const HostTensor& weight = (*b)->c;
  const int64_t k = trans_b ? weight.dims[1] : weight.dims[0], n = trans_b ? weight.dims[0] : weight.dims[1];
  std::vector<float> w(static_cast<size_t>(n * k));  // [out, in]
  for (int64_t o = 0; o < n; ++o)
    for (int64_t i = 0; i < k; ++i)
      w[static_cast<size_t>(o * k + i)] = alpha * static_cast<float>(trans_b ? weight.at(o * k + i) : weight.at(i * n + o));
  std::vector<Value> inputs = {x, builder_.parameter(node.input(1), make_desc(DType::F32, {n, k}), w)};
  if (!matmul && has_input(node, 2)) {
    Result<Val*> c = get(node, 2);
    if (!c.is_ok()) return c.status();
    const HostTensor& bias = (*c)->c;
    PF_CHECK((*c)->is_const && (bias.count() == n || bias.count() == 1), Error::kUnsupported,
             "%s: node '%s' (Gemm): C must be a constant of %lld values (or one)", source_.c_str(), name.c_str(),
             static_cast<long long>(n));
    std::vector<float> values(static_cast<size_t>(n));
    for (int64_t o = 0; o < n; ++o) values[static_cast<size_t>(o)] = beta * static_cast<float>(bias.at(bias.count() == 1 ? 0 : o));
    inputs.push_back(builder_.parameter(node.input(2), make_desc(DType::F32, {n}), values));
  }
  set(node, 0, graph_val(builder_.node(OpType::Linear, OpAttrs(), inputs, name), false));
  return check(name);
}

// Ops on constants (the shape arithmetic exporters emit), evaluated here.
Status Importer::fold(const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  std::vector<HostTensor> in;
  for (int i = 0; i < node.input_size(); ++i) {
    if (node.input(i).empty()) {
      in.emplace_back();
      continue;
    }
    Result<Val*> v = get(node, i);
    if (!v.is_ok()) return v.status();
    PF_CHECK((*v)->is_const, Error::kUnsupported,
             "%s: node '%s' (%s): input '%s' is computed by the model; preflight folds %s only on constants",
             source_.c_str(), name.c_str(), op.c_str(), node.input(i).c_str(), op.c_str());
    in.push_back((*v)->c);
  }
  HostTensor out;
  const auto ints_of = [](const HostTensor& t) {
    std::vector<int64_t> v(static_cast<size_t>(t.count()));
    for (int64_t k = 0; k < t.count(); ++k) v[static_cast<size_t>(k)] = static_cast<int64_t>(t.at(k));
    return v;
  };
  const auto same_kind = [](HostTensor* t, const HostTensor& like) {
    t->dtype = like.dtype;
    if (like.dtype == DType::F32) t->f.clear();
    else t->i.clear();
  };
  const auto push = [](HostTensor* t, double v) {
    if (t->dtype == DType::F32) t->f.push_back(static_cast<float>(v));
    else t->i.push_back(static_cast<int64_t>(v));
  };
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    const HostTensor &a = in[0], &b = in[1];
    PF_CHECK(a.count() == b.count() || a.count() == 1 || b.count() == 1, Error::kUnsupported,
             "%s: node '%s' (%s): folds constants of equal size or a scalar, got %s and %s", source_.c_str(), name.c_str(),
             op.c_str(), dims_text(a.dims).c_str(), dims_text(b.dims).c_str());
    const HostTensor& big = a.count() >= b.count() ? a : b;
    out.dims = big.dims;
    out.dtype = a.dtype == DType::F32 || b.dtype == DType::F32 ? DType::F32 : DType::I64;
    for (int64_t k = 0; k < big.count(); ++k) {
      const double x = a.at(a.count() == 1 ? 0 : k), y = b.at(b.count() == 1 ? 0 : k);
      const double r = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y
                     : out.dtype == DType::I64 ? (y != 0 ? std::floor(x / y) : 0) : x / y;
      push(&out, r);
    }
  } else if (op == "Shape") {
    // Handled before fold (needs no constant input).
    return Status::error(Error::kInternal, "Shape reached fold");
  } else if (op == "Gather") {
    const HostTensor &data = in[0], &indices = in[1];
    int64_t axis = attr_int(node, "axis", 0);
    const int64_t rank = static_cast<int64_t>(data.dims.size());
    PF_RETURN_IF_ERROR(normalize_axis(source_, name, op, "axis", rank, &axis));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= data.dims[static_cast<size_t>(d)];
    for (int64_t d = axis + 1; d < rank; ++d) inner *= data.dims[static_cast<size_t>(d)];
    const int64_t extent = data.dims[static_cast<size_t>(axis)];
    same_kind(&out, data);
    out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
    out.dims.insert(out.dims.end(), indices.dims.begin(), indices.dims.end());
    out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1, data.dims.end());
    const std::vector<int64_t> idx = ints_of(indices);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j : idx) {
        if (j < 0) j += extent;
        PF_CHECK(j >= 0 && j < extent, Error::kInvalidModel, "%s: node '%s' (Gather): index out of range", source_.c_str(), name.c_str());
        for (int64_t r = 0; r < inner; ++r) push(&out, data.at((o * extent + j) * inner + r));
      }
    }
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    const HostTensor& data = in[0];
    std::vector<int64_t> axes = opset_ >= 13 ? (in.size() > 1 && !in[1].dims.empty() ? ints_of(in[1]) : std::vector<int64_t>{})
                                              : attr_ints(node, "axes", {});
    out = data;
    out.dims = squeezed_shape(op == "Unsqueeze", data.dims, axes);
  } else if (op == "Concat") {
    int64_t axis = attr_int(node, "axis", 0);
    const int64_t rank = static_cast<int64_t>(in[0].dims.size());
    if (axis < 0) axis += rank;
    PF_CHECK(rank == 1 && axis == 0, Error::kUnsupported, "%s: node '%s' (Concat): folds 1-D constants only", source_.c_str(), name.c_str());
    same_kind(&out, in[0]);
    for (const HostTensor& t : in) {
      for (int64_t k = 0; k < t.count(); ++k) push(&out, t.at(k));
    }
    out.dims = {static_cast<int64_t>(out.dtype == DType::F32 ? out.f.size() : out.i.size())};
  } else if (op == "Cast") {
    const int64_t to = attr_int(node, "to", TensorProto::FLOAT);
    out.dims = in[0].dims;
    out.dtype = to == TensorProto::FLOAT || to == TensorProto::DOUBLE ? DType::F32 : DType::I64;
    for (int64_t k = 0; k < in[0].count(); ++k) push(&out, in[0].at(k));
  } else if (op == "ConstantOfShape") {
    out.dims = ints_of(in[0]);
    // The shape comes from the file: fold it only when it is small (a constant this large is no
    // shape arithmetic, and would be allocated here).
    PF_CHECK(out.count() >= 0 && out.count() <= kMaxFoldedElements, Error::kResourceLimit,
             "%s: node '%s' (ConstantOfShape): %lld elements is more than the %lld this importer folds", source_.c_str(),
             name.c_str(), static_cast<long long>(out.count()), static_cast<long long>(kMaxFoldedElements));
    out.dtype = DType::F32;
    double value = 0.0;
    const onnx::AttributeProto* a = nullptr;
    if (attr(node, "value", &a)) {
      HostTensor v;
      PF_RETURN_IF_ERROR(read_tensor(a->t(), &v));
      out.dtype = v.dtype;
      value = v.count() ? v.at(0) : 0.0;
    }
    for (int64_t k = 0; k < out.count(); ++k) push(&out, value);
  } else if (op == "Slice") {
    const HostTensor& data = in[0];
    PF_CHECK(data.dims.size() == 1, Error::kUnsupported, "%s: node '%s' (Slice): folds 1-D constants only", source_.c_str(), name.c_str());
    const int64_t size = data.dims[0];
    int64_t start = ints_of(in[1]).at(0), end = ints_of(in[2]).at(0);
    const int64_t step = in.size() > 4 && !in[4].dims.empty() ? ints_of(in[4]).at(0) : 1;
    PF_CHECK(step == 1, Error::kUnsupported, "%s: node '%s' (Slice): steps other than 1", source_.c_str(), name.c_str());
    if (start < 0) start += size;
    if (end < 0) end += size;
    start = std::max<int64_t>(0, std::min(start, size));
    end = std::max<int64_t>(start, std::min(end, size));
    same_kind(&out, data);
    for (int64_t k = start; k < end; ++k) push(&out, data.at(k));
    out.dims = {end - start};
  } else if (op == "Reshape") {
    out = in[0];
    std::vector<int64_t> shape = ints_of(in[1]);
    int64_t known = 1, infer = -1;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 0 && d < in[0].dims.size()) shape[d] = in[0].dims[d];
      if (shape[d] == -1) infer = static_cast<int64_t>(d);
      else known *= shape[d];
    }
    if (infer >= 0) shape[static_cast<size_t>(infer)] = known ? in[0].count() / known : 0;
    out.dims = shape;
  } else {
    return Status::error(Error::kUnsupported, "%s: node '%s' (%s): preflight cannot fold it on constants", source_.c_str(),
                         name.c_str(), op.c_str());
  }
  PF_CHECK(out.count() == static_cast<int64_t>(out.dtype == DType::F32 ? out.f.size() : out.i.size()), Error::kInvalidModel,
           "%s: node '%s' (%s): folding produced %s with the wrong number of values", source_.c_str(), name.c_str(),
           op.c_str(), dims_text(out.dims).c_str());
  Val val;
  val.is_const = true;
  val.c = std::move(out);
  set(node, 0, std::move(val));
  return Status::ok();
}

Status Importer::convert(const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  if (op == "Constant") {
    const onnx::AttributeProto* a = nullptr;
    Val val;
    val.is_const = true;
    if (attr(node, "value", &a)) {
      PF_RETURN_IF_ERROR(read_tensor(a->t(), &val.c));
    } else if (attr(node, "value_float", &a)) {
      val.c.f = {a->f()};
    } else if (attr(node, "value_floats", &a)) {
      val.c.f.assign(a->floats().begin(), a->floats().end());
      val.c.dims = {static_cast<int64_t>(val.c.f.size())};
    } else if (attr(node, "value_int", &a)) {
      val.c.dtype = DType::I64;
      val.c.i = {a->i()};
    } else if (attr(node, "value_ints", &a)) {
      val.c.dtype = DType::I64;
      val.c.i.assign(a->ints().begin(), a->ints().end());
      val.c.dims = {static_cast<int64_t>(val.c.i.size())};
    } else {
      return Status::error(Error::kUnsupported, "%s: node '%s' (Constant): only value, value_float(s) and value_int(s)",
                           source_.c_str(), name.c_str());
    }
    set(node, 0, std::move(val));
    return Status::ok();
  }
  if (op == "Identity" || op == "Dropout") {
    Result<Val*> x = get(node, 0);
    if (!x.is_ok()) return x.status();
    set(node, 0, **x);  // inference: the identity
    return Status::ok();
  }
  if (op == "Shape") {
    Result<Val*> x = get(node, 0);
    if (!x.is_ok()) return x.status();
    const std::vector<int64_t> dims = onnx_dims(**x);
    int64_t start = attr_int(node, "start", 0), end = attr_int(node, "end", static_cast<int64_t>(dims.size()));
    const int64_t rank = static_cast<int64_t>(dims.size());
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::max<int64_t>(0, std::min(start, rank));
    end = std::max<int64_t>(start, std::min(end, rank));
    Val val;
    val.is_const = true;
    val.c.dtype = DType::I64;
    val.c.i.assign(dims.begin() + start, dims.begin() + end);
    val.c.dims = {end - start};
    set(node, 0, std::move(val));
    return Status::ok();
  }
  // Everything on constants folds; what follows takes activations.
  bool all_const = true;
  for (int i = 0; i < node.input_size(); ++i) {
    if (node.input(i).empty()) continue;
    Result<Val*> v = get(node, i);
    if (!v.is_ok()) return v.status();
    all_const = all_const && (*v)->is_const;
  }
  if (all_const && op != "Conv" && op != "Gemm" && op != "MatMul" && op != "BatchNormalization") return fold(node, name);

  if (op == "Add") return binary(node, name, OpType::Add);
  if (op == "Sub") return binary(node, name, OpType::Sub);
  if (op == "Mul") return binary(node, name, OpType::Mul);
  if (op == "Div") return binary(node, name, OpType::Div);
  if (op == "Conv") return conv(node, name);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") return pool(node, name);
  if (op == "Gemm") return gemm(node, name, false);
  if (op == "MatMul") return gemm(node, name, true);

  Result<Val*> xr = get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "Clip") {
    OpAttrs attrs;
    OpType type = op == "Relu" ? OpType::Relu : op == "Sigmoid" ? OpType::Sigmoid : op == "Tanh" ? OpType::Tanh : OpType::Clamp;
    if (op == "Clip") {
      attrs.kind = fb::Attrs::ClampAttrs;
      attrs.clamp.min = -FLT_MAX, attrs.clamp.max = FLT_MAX;
      if (opset_ < 11) {
        attrs.clamp.min = attr_float(node, "min", -FLT_MAX), attrs.clamp.max = attr_float(node, "max", FLT_MAX);
      }
      for (int i = 1; i <= 2; ++i) {
        if (!has_input(node, i)) continue;
        Result<Val*> bound = get(node, i);
        if (!bound.is_ok()) return bound.status();
        PF_CHECK((*bound)->is_const && (*bound)->c.count() == 1, Error::kUnsupported,
                 "%s: node '%s' (Clip): %s must be a constant scalar", source_.c_str(), name.c_str(), i == 1 ? "min" : "max");
        (i == 1 ? attrs.clamp.min : attrs.clamp.max) = static_cast<float>((*bound)->c.at(0));
      }
    }
    set(node, 0, graph_val(builder_.node(type, attrs, {x->v}, name), x->nhwc));
    return check(name);
  }
  if (op == "BatchNormalization") {
    const std::vector<int64_t> dims = onnx_dims(*x);
    PF_CHECK(dims.size() == 4 || dims.size() == 2, Error::kUnsupported,
             "%s: node '%s' (BatchNormalization): inputs of rank 2 or 4, got %s", source_.c_str(), name.c_str(),
             dims_text(dims).c_str());
    OpAttrs attrs;
    attrs.kind = fb::Attrs::NormAttrs;
    attrs.norm.epsilon = attr_float(node, "epsilon", 1e-5f);
    attrs.norm.axis = dims.size() == 4 ? 3 : 1;  // the channels: last in NHWC
    std::vector<Value> inputs = {dims.size() == 4 ? nhwc(x, name + ".x") : x->v};
    for (int i = 1; i <= 4; ++i) {
      Result<Val*> p = get(node, i);
      if (!p.is_ok()) return p.status();
      PF_CHECK(onnx_dims(**p).size() == 1 && (!(*p)->is_const || (*p)->c.dtype == DType::F32), Error::kUnsupported,
               "%s: node '%s' (BatchNormalization): input '%s' must be a 1-D float tensor", source_.c_str(), name.c_str(),
               node.input(i).c_str());
      if (!(*p)->is_const) {
        inputs.push_back((*p)->v);  // fed at run time
        continue;
      }
      const TensorDesc desc = make_desc(DType::F32, {(*p)->c.dims[0]});
      inputs.push_back(i <= 2 ? builder_.parameter(node.input(i), desc, (*p)->c.f) : builder_.buffer(node.input(i), desc, (*p)->c.f));
    }
    set(node, 0, graph_val(builder_.node(OpType::BatchNorm, attrs, inputs, name), dims.size() == 4));
    return check(name);
  }
  if (op == "LayerNormalization") {
    // Over the ONNX axes [axis, rank): in the ONNX layout (an NHWC value goes back to NCHW).
    const std::vector<int64_t> dims = onnx_dims(*x);
    const int64_t rank = static_cast<int64_t>(dims.size());
    int64_t axis = attr_int(node, "axis", -1);
    PF_RETURN_IF_ERROR(normalize_axis(source_, name, op, "axis", rank, &axis));
    OpAttrs attrs;
    attrs.kind = fb::Attrs::NormAttrs;
    attrs.norm.axis = static_cast<int>(axis);
    attrs.norm.epsilon = attr_float(node, "epsilon", 1e-5f);
    std::vector<Value> inputs = {nchw(x, name + ".x")};
    TensorDesc normalized;
    normalized.dtype = DType::F32;
    normalized.rank = static_cast<int>(rank - axis);
    for (int64_t d = axis; d < rank; ++d) normalized.dims[d - axis] = dims[static_cast<size_t>(d)];
    for (int i = 1; i <= 2 && has_input(node, i); ++i) {
      Result<Val*> p = get(node, i);
      if (!p.is_ok()) return p.status();
      PF_CHECK((*p)->is_const ? (*p)->c.count() == normalized.num_elements() : onnx_dims(**p).size() == static_cast<size_t>(normalized.rank),
               Error::kUnsupported, "%s: node '%s' (LayerNormalization): '%s' must have the normalized shape", source_.c_str(),
               name.c_str(), node.input(i).c_str());
      if ((*p)->is_const) {
        std::vector<float> values(static_cast<size_t>(normalized.num_elements()));
        for (int64_t k = 0; k < normalized.num_elements(); ++k) values[static_cast<size_t>(k)] = static_cast<float>((*p)->c.at(k));
        inputs.push_back(builder_.parameter(node.input(i), normalized, values));
      } else {
        inputs.push_back((*p)->v);
      }
    }
    set(node, 0, graph_val(builder_.node(OpType::LayerNorm, attrs, inputs, name), false));
    return check(name);
  }
  if (op == "Softmax" || op == "LogSoftmax") {
    const int64_t rank = static_cast<int64_t>(onnx_dims(*x).size());
    int64_t axis = attr_int(node, "axis", opset_ >= 13 ? -1 : 1);
    PF_RETURN_IF_ERROR(normalize_axis(source_, name, op, "axis", rank, &axis));
    if (opset_ < 13 && rank != 2) {
      PF_CHECK(axis == rank - 1, Error::kUnsupported,
               "%s: node '%s' (%s): before opset 13 only the last axis of a rank-%lld input", source_.c_str(), name.c_str(),
               op.c_str(), static_cast<long long>(rank));
    }
    OpAttrs attrs;
    attrs.kind = fb::Attrs::AxisAttrs;
    attrs.axis.axis = static_cast<int>(x->nhwc ? kStorage[axis] : axis);
    set(node, 0, graph_val(builder_.node(op == "Softmax" ? OpType::Softmax : OpType::LogSoftmax, attrs, {x->v}, name), x->nhwc));
    return check(name);
  }
  if (op == "Flatten") {
    const std::vector<int64_t> dims = onnx_dims(*x);
    int64_t axis = attr_int(node, "axis", 1);
    // Flatten's axis is in [-rank, rank]: axis == rank makes [N..., 1].
    PF_RETURN_IF_ERROR(normalize_axis(source_, name, op, "axis", static_cast<int64_t>(dims.size()) + 1, &axis));
    OpAttrs attrs;
    attrs.kind = fb::Attrs::AxisAttrs;
    attrs.axis.axis = static_cast<int>(axis);
    // NHWC with H = W = 1 has the NCHW order already (after global pooling).
    const bool trivial = x->nhwc && dims[2] == 1 && dims[3] == 1 && axis == 1;
    const Value in = trivial ? x->v : nchw(x, name + ".x");
    set(node, 0, graph_val(builder_.node(OpType::Flatten, attrs, {in}, name), false));
    return check(name);
  }
  if (op == "Reshape" || op == "Unsqueeze" || op == "Squeeze") {
    const std::vector<int64_t> dims = onnx_dims(*x);
    std::vector<int64_t> shape;
    if (op == "Reshape") {
      Result<Val*> s = get(node, 1);
      if (!s.is_ok()) return s.status();
      PF_CHECK((*s)->is_const, Error::kUnsupported, "%s: node '%s' (Reshape): the shape must be constant after folding",
               source_.c_str(), name.c_str());
      for (int64_t k = 0; k < (*s)->c.count(); ++k) shape.push_back(static_cast<int64_t>((*s)->c.at(k)));
      for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 0 && d < dims.size()) shape[d] = dims[d];
      }
    } else {
      std::vector<int64_t> axes = attr_ints(node, "axes", {});
      if (opset_ >= 13 && has_input(node, 1)) {
        Result<Val*> s = get(node, 1);
        if (!s.is_ok()) return s.status();
        PF_CHECK((*s)->is_const, Error::kUnsupported, "%s: node '%s' (%s): the axes must be constant", source_.c_str(),
                 name.c_str(), op.c_str());
        axes.clear();
        for (int64_t k = 0; k < (*s)->c.count(); ++k) axes.push_back(static_cast<int64_t>((*s)->c.at(k)));
      }
      shape = squeezed_shape(op == "Unsqueeze", dims, axes);
    }
    PF_CHECK(!shape.empty() && shape.size() <= static_cast<size_t>(kMaxRank), Error::kUnsupported,
             "%s: node '%s' (%s): target rank %zu", source_.c_str(), name.c_str(), op.c_str(), shape.size());
    // The batch: a target dim 0 equal to the input's batch is written as "copy dim 0", so the
    // model can be re-planned for another batch.
    OpAttrs attrs;
    attrs.kind = fb::Attrs::ReshapeAttrs;
    attrs.reshape.rank = static_cast<int>(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) attrs.reshape.shape[d] = shape[d];
    if (!dims.empty() && shape[0] == dims[0] && shape.size() >= 1) attrs.reshape.shape[0] = 0;
    // [N, 1, 1, C] stored is [N, C, 1, 1] in ONNX order already: only the shape changes.
    const bool trivial = x->nhwc && dims[2] == 1 && dims[3] == 1;
    const Value in = x->nhwc && !trivial ? nchw(x, name + ".x") : x->v;
    set(node, 0, graph_val(builder_.node(OpType::Reshape, attrs, {in}, name), false));
    return check(name);
  }
  if (op == "Transpose") {
    const std::vector<int64_t> dims = onnx_dims(*x);
    const int64_t rank = static_cast<int64_t>(dims.size());
    std::vector<int64_t> perm = attr_ints(node, "perm", {});
    if (perm.empty()) for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
    PF_CHECK(static_cast<int64_t>(perm.size()) == rank, Error::kInvalidModel, "%s: node '%s' (Transpose): perm has %zu entries for rank %lld",
             source_.c_str(), name.c_str(), perm.size(), static_cast<long long>(rank));
    OpAttrs attrs;
    attrs.kind = fb::Attrs::TransposeAttrs;
    attrs.transpose.rank = static_cast<int>(rank);
    // Storage of an NHWC value: ONNX dim d lives at kStorage[d].
    for (int64_t d = 0; d < rank; ++d) {
      int64_t p = perm[static_cast<size_t>(d)];
      PF_RETURN_IF_ERROR(normalize_axis(source_, name, op, "perm entry", rank, &p));
      attrs.transpose.perm[d] = static_cast<int>(x->nhwc ? kStorage[p] : p);
    }
    set(node, 0, graph_val(builder_.node(OpType::Transpose, attrs, {x->v}, name), false));
    return check(name);
  }
  if (op == "Concat") {
    const int64_t rank = static_cast<int64_t>(onnx_dims(*x).size());
    int64_t axis = attr_int(node, "axis", 0);
    PF_RETURN_IF_ERROR(normalize_axis(source_, name, op, "axis", rank, &axis));
    bool all_nhwc = rank == 4;
    for (int i = 0; i < node.input_size(); ++i) {
      Result<Val*> v = get(node, i);
      if (!v.is_ok()) return v.status();
      all_nhwc = all_nhwc && ((*v)->is_const || (*v)->nhwc);
    }
    std::vector<Value> inputs;
    for (int i = 0; i < node.input_size(); ++i) {
      Val* v = *get(node, i);
      inputs.push_back(all_nhwc ? nhwc(v, name + ".in" + std::to_string(i)) : nchw(v, name + ".in" + std::to_string(i)));
    }
    OpAttrs attrs;
    attrs.kind = fb::Attrs::AxisAttrs;
    attrs.axis.axis = static_cast<int>(all_nhwc ? kStorage[axis] : axis);
    set(node, 0, graph_val(builder_.node(OpType::Concat, attrs, inputs, name), all_nhwc));
    return check(name);
  }
  if (op == "Cast") {
    const int64_t to = attr_int(node, "to", TensorProto::FLOAT);
    PF_CHECK(to == TensorProto::FLOAT, Error::kUnsupported, "%s: node '%s' (Cast): of an activation to type %lld", source_.c_str(),
             name.c_str(), static_cast<long long>(to));
    set(node, 0, *x);
    return Status::ok();
  }
  return Status::error(Error::kUnsupported, "%s: node '%s' (%s): preflight takes it only on constants", source_.c_str(),
                       name.c_str(), op.c_str());
}

void Importer::find_gelus(const onnx::GraphProto& g) {
  std::map<std::string, int> producer;
  std::map<std::string, std::vector<int>> consumers;
  std::map<std::string, double> scalars;  // single-value constants (initializers, Constant nodes)
  const auto scalar_of = [&](const TensorProto& t, const std::string& name) {
    HostTensor value;
    if (read_tensor(t, &value).is_ok() && value.count() == 1) scalars[name] = value.at(0);
  };
  for (const TensorProto& init : g.initializer()) scalar_of(init, init.name());
  std::set<std::string> outputs;
  for (const auto& output : g.output()) outputs.insert(output.name());
  for (int n = 0; n < g.node_size(); ++n) {
    const NodeProto& node = g.node(n);
    for (const std::string& out : node.output()) producer[out] = n;
    for (const std::string& in : node.input()) consumers[in].push_back(n);
    const onnx::AttributeProto* a = nullptr;
    if (node.op_type() == "Constant" && node.output_size() == 1 && attr(node, "value", &a)) scalar_of(a->t(), node.output(0));
  }
  // The one node reading `value` (which no graph output exposes), if it is `op`.
  const auto sole = [&](const std::string& value, const char* op) -> int {
    const auto found = consumers.find(value);
    if (found == consumers.end() || found->second.size() != 1 || outputs.count(value)) return -1;
    return g.node(found->second[0]).op_type() == op ? found->second[0] : -1;
  };
  // The input of binary `node` that is not `other`, as a scalar near `want`.
  const auto other_is = [&](const NodeProto& node, const std::string& other, double want) {
    if (node.input_size() != 2) return false;
    const std::string& candidate = node.input(0) == other ? node.input(1) : node.input(0);
    const auto value = scalars.find(candidate);
    return value != scalars.end() && std::fabs(value->second - want) < 1e-3;
  };
  for (int e = 0; e < g.node_size(); ++e) {
    const NodeProto& erf = g.node(e);
    if (erf.op_type() != "Erf" || erf.input_size() != 1 || !producer.count(erf.input(0))) continue;
    const int div = producer[erf.input(0)];
    const NodeProto& d = g.node(div);
    if (d.op_type() != "Div" || d.input_size() != 2 || sole(erf.input(0), "Erf") != e) continue;
    const std::string x = d.input(0);
    const auto divisor = scalars.find(d.input(1));
    if (divisor == scalars.end() || std::fabs(divisor->second - std::sqrt(2.0)) > 1e-3) continue;
    const int add = sole(erf.output(0), "Add");
    if (add < 0 || !other_is(g.node(add), erf.output(0), 1.0)) continue;
    const int mul = sole(g.node(add).output(0), "Mul");
    if (mul < 0 || g.node(mul).input_size() != 2 ||
        (g.node(mul).input(0) != x && g.node(mul).input(1) != x)) continue;
    const int half = sole(g.node(mul).output(0), "Mul");
    if (half < 0 || !other_is(g.node(half), g.node(mul).output(0), 0.5)) continue;
    gelu_parts_.insert({div, e, add, mul});
    gelu_at_[half] = x;
  }
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
  find_gelus(g);

  // Every node preflight cannot take, in one message.
  std::string refused;
  int refused_count = 0;
  for (int n = 0; n < g.node_size(); ++n) {
    if (gelu_parts_.count(n)) continue;
    const std::string reason = unsupported_reason(g.node(n), opset_);
    if (reason.empty()) continue;
    if (refused.size() < 250) {
      refused += (refused.empty() ? "" : "; ") + std::string("node '") +
                 (g.node(n).name().empty() ? "#" + std::to_string(n) : g.node(n).name()) + "' (" + g.node(n).op_type() +
                 ", opset " + std::to_string(opset_) + "): " + reason;
    }
    ++refused_count;
  }
  PF_CHECK(refused_count == 0, Error::kUnsupported, "%s: %d node%s preflight cannot import: %s%s", source_.c_str(),
           refused_count, refused_count == 1 ? "" : "s", refused.c_str(), refused.size() >= 250 ? "; ..." : "");

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
    if (gelu_parts_.count(n)) continue;
    const auto gelu = gelu_at_.find(n);
    if (gelu != gelu_at_.end()) {
      auto x = values_.find(gelu->second);
      PF_CHECK(x != values_.end() && !x->second.is_const, Error::kUnsupported, "%s: node '%s': GELU of a constant",
               source_.c_str(), name.c_str());
      OpAttrs attrs;
      attrs.kind = fb::Attrs::GeluAttrs;
      set(node, 0, graph_val(builder_.node(OpType::Gelu, attrs, {x->second.v}, name), x->second.nhwc));
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

}  // namespace

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
