// The ONNX ops preflight imports: one converter per op (or op family), and the table of them
// (kConverters) that the importer dispatches on and that says which ops it takes.
#include "graph/import/onnx_importer.h"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>

namespace preflight {
namespace graph {
namespace onnx_import {

namespace {

// Input i of `node` as integers (shapes, axes, pads, split sizes); it must be a constant, else the
// error says `refusal` ("split must be a constant") after the node.
Status constant_ints(Importer& im, const NodeProto& node, int i, const std::string& name, const std::string& refusal,
                     std::vector<int64_t>* out) {
  Result<Val*> v = im.get(node, i);
  if (!v.is_ok()) return v.status();
  PF_CHECK((*v)->is_const, Error::kUnsupported, "%s: node '%s' (%s): %s", im.source_.c_str(), name.c_str(),
           node.op_type().c_str(), refusal.c_str());
  out->clear();
  for (int64_t k = 0; k < (*v)->c.count(); ++k) out->push_back((*v)->c.int_at(k));
  return Status::ok();
}

Status binary(Importer& im, const NodeProto& node, const std::string& name, OpType op) {
  Result<Val*> a = im.get(node, 0);
  if (!a.is_ok()) return a.status();
  Result<Val*> b = im.get(node, 1);
  if (!b.is_ok()) return b.status();
  if ((*a)->is_const && (*b)->is_const) return im.fold(node, name);
  // NHWC when a 4-D operand already is and every other operand can follow (a constant of rank
  // <= 4, or a 4-D activation); otherwise the ONNX layout.
  bool to_nhwc = false, can = true;
  for (Val* v : {*a, *b}) {
    if (!v->is_const && v->nhwc) to_nhwc = true;
    if (!v->is_const && !v->nhwc && im.onnx_dims(*v).size() != 4) can = false;
    if (v->is_const && v->c.dims.size() > 4) can = false;
  }
  to_nhwc = to_nhwc && can;
  const Value x = to_nhwc ? im.nhwc(*a, name + ".a") : im.nchw(*a, name + ".a");
  const Value y = to_nhwc ? im.nhwc(*b, name + ".b") : im.nchw(*b, name + ".b");
  im.set(node, 0, im.graph_val(im.builder_.node(op, OpAttrs(), {x, y}, name), to_nhwc));
  return im.check(name);
}

Status convert_conv(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> x = im.get(node, 0);
  if (!x.is_ok()) return x.status();
  Result<Val*> w = im.get(node, 1);
  if (!w.is_ok()) return w.status();
  const std::vector<int64_t> w_dims = im.onnx_dims(**w);
  PF_CHECK(w_dims.size() == 4 && ((*w)->is_const ? (*w)->c.dtype == DType::F32 : !(*w)->nhwc), Error::kUnsupported,
           "%s: node '%s' (Conv): the weight '%s' must be a 4-D float tensor", im.source_.c_str(), name.c_str(),
           node.input(1).c_str());
  const std::vector<int64_t> in = im.onnx_dims(**x);
  PF_CHECK(in.size() == 4, Error::kUnsupported, "%s: node '%s' (Conv): only 2-D convolution (input %s)", im.source_.c_str(),
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
           "%s: node '%s' (Conv): strides, dilations and pads must have 2, 2 and 4 values", im.source_.c_str(), name.c_str());
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
    kernel = im.builder_.parameter(node.input(1), make_desc(DType::F32, {out_c, kh, kw, in_per_group}), ohwi);
  } else {
    kernel = im.nhwc(*w, name + ".w");  // the same permutation (0, 2, 3, 1)
  }
  std::vector<Value> inputs = {im.nhwc(*x, name + ".x"), kernel};
  if (im.has_input(node, 2)) {
    Result<Val*> bias = im.get(node, 2);
    if (!bias.is_ok()) return bias.status();
    PF_CHECK(im.onnx_dims(**bias) == std::vector<int64_t>{out_c}, Error::kUnsupported,
             "%s: node '%s' (Conv): the bias '%s' must have %lld values", im.source_.c_str(), name.c_str(),
             node.input(2).c_str(), static_cast<long long>(out_c));
    inputs.push_back((*bias)->is_const ? im.builder_.parameter(node.input(2), make_desc(DType::F32, {out_c}), (*bias)->c.f)
                                       : (*bias)->v);
  }
  im.set(node, 0, im.graph_val(im.builder_.node(OpType::Conv2D, attrs, inputs, name), true));
  return im.check(name);
}

Status convert_pool(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> x = im.get(node, 0);
  if (!x.is_ok()) return x.status();
  const std::vector<int64_t> in = im.onnx_dims(**x);
  PF_CHECK(in.size() == 4, Error::kUnsupported, "%s: node '%s' (%s): only 2-D pooling (input %s)", im.source_.c_str(),
           name.c_str(), node.op_type().c_str(), dims_text(in).c_str());
  OpAttrs attrs;
  if (node.op_type() == "GlobalAveragePool") {
    attrs.kind = fb::Attrs::GlobalPoolAttrs;
    attrs.global_pool.keep_dims = true;  // [N, C, 1, 1] as ONNX has it
    im.set(node, 0, im.graph_val(im.builder_.node(OpType::GlobalAvgPool, attrs, {im.nhwc(*x, name + ".x")}, name), true));
    return im.check(name);
  }
  attrs.kind = fb::Attrs::Pool2dAttrs;
  Pool2dAttrs& p = attrs.pool;
  const std::vector<int64_t> kernel = attr_ints(node, "kernel_shape", {}), strides = attr_ints(node, "strides", {1, 1});
  std::vector<int64_t> pads = attr_ints(node, "pads", {0, 0, 0, 0});
  PF_CHECK(kernel.size() == 2 && strides.size() == 2 && pads.size() == 4, Error::kInvalidModel,
           "%s: node '%s' (%s): kernel_shape, strides and pads must have 2, 2 and 4 values", im.source_.c_str(), name.c_str(),
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
  // ceil_mode=1: the output size rounds up, as extra padding at the bottom and right; as PyTorch
  // (and onnx's reference from opset 19), a last window that would start past the input and its
  // top/left padding is dropped, so every window holds an element of the input.
  const bool average_counts_pad = node.op_type() == "AveragePool" && attr_int(node, "count_include_pad", 0) != 0;
  if (attr_int(node, "ceil_mode", 0) != 0 && auto_pad == "NOTSET") {
    for (size_t d = 0; d < 2; ++d) {
      const int64_t span = in[2 + d] + pads[d] + pads[d + 2] - kernel[d];
      if (span < 0) continue;  // a window larger than the input: the pool op's error
      int64_t out = (span + strides[d] - 1) / strides[d] + 1;
      if ((out - 1) * strides[d] >= in[2 + d] + pads[d]) --out;
      const int64_t extra = (out - 1) * strides[d] + kernel[d] - (in[2 + d] + pads[d] + pads[d + 2]);
      // An average that counts the padding counts ONNX's pads, not this extra: not expressible.
      PF_CHECK(extra <= 0 || !average_counts_pad, Error::kUnsupported,
               "%s: node '%s' (AveragePool): ceil_mode=1 with count_include_pad=1 where the last window passes the padding",
               im.source_.c_str(), name.c_str());
      if (extra > 0) pads[d + 2] += extra;
    }
  }
  p.kernel_h = static_cast<int>(kernel[0]), p.kernel_w = static_cast<int>(kernel[1]);
  p.stride_h = static_cast<int>(strides[0]), p.stride_w = static_cast<int>(strides[1]);
  p.pad_top = static_cast<int>(pads[0]), p.pad_left = static_cast<int>(pads[1]);
  p.pad_bottom = static_cast<int>(pads[2]), p.pad_right = static_cast<int>(pads[3]);
  p.count_include_pad = attr_int(node, "count_include_pad", 0) != 0;
  const OpType op = node.op_type() == "MaxPool" ? OpType::MaxPool2D : OpType::AvgPool2D;
  im.set(node, 0, im.graph_val(im.builder_.node(op, attrs, {im.nhwc(*x, name + ".x")}, name), true));
  return im.check(name);
}

// Gemm (Y = alpha A B' + beta C) and MatMul with a constant right-hand side become Linear with
// the weight transposed once; otherwise MatMul.
Status gemm(Importer& im, const NodeProto& node, const std::string& name, bool matmul) {
  Result<Val*> a = im.get(node, 0);
  if (!a.is_ok()) return a.status();
  Result<Val*> b = im.get(node, 1);
  if (!b.is_ok()) return b.status();
  const bool trans_b = !matmul && attr_int(node, "transB", 0) != 0;
  const float alpha = matmul ? 1.0f : attr_float(node, "alpha", 1.0f), beta = matmul ? 1.0f : attr_float(node, "beta", 1.0f);
  Value x = im.nchw(*a, name + ".a");
  if (!matmul && attr_int(node, "transA", 0) != 0) x = im.transpose(x, {1, 0}, name + ".a_transposed");
  // MatMul of a 1-D operand (NumPy's rule): A [K] is the row [1, K], B [K] the column [K, 1], and
  // the dim each added is dropped from the product.
  const bool a_vector = matmul && im.onnx_dims(**a).size() == 1, b_vector = matmul && im.onnx_dims(**b).size() == 1;
  if (a_vector) x = im.reshape(x, {1, im.onnx_dims(**a)[0]}, name + ".a_row");
  const auto drop_added_dims = [&](Value y) {
    if (!a_vector && !b_vector) return y;
    const TensorDesc& d = im.builder_.desc(y);
    std::vector<int64_t> shape(d.dims, d.dims + d.rank);
    if (b_vector) shape.erase(shape.end() - 1);
    if (a_vector) shape.erase(shape.end() - 1 - (b_vector ? 0 : 1));
    return im.reshape(y, shape.empty() ? std::vector<int64_t>{1} : shape, name + ".vector");
  };
  if (!(*b)->is_const || (*b)->c.dims.size() != 2) {
    OpAttrs attrs;
    attrs.kind = fb::Attrs::MatMulAttrs;
    attrs.matmul.transpose_b = trans_b;
    Value bv = im.nchw(*b, name + ".b");
    if (b_vector) bv = im.reshape(bv, {im.onnx_dims(**b)[0], 1}, name + ".b_column");
    Value y = drop_added_dims(im.builder_.node(OpType::MatMul, attrs, {x, bv}, name));
    if (alpha != 1.0f) {
      Val factor;
      factor.is_const = true;
      factor.c.f = {alpha};
      y = im.builder_.node(OpType::Mul, OpAttrs(), {y, im.materialize(factor, name + ".alpha", false)}, name + ".alpha_ab");
    }
    if (!matmul && im.has_input(node, 2)) {
      Result<Val*> c = im.get(node, 2);
      if (!c.is_ok()) return c.status();
      Val scaled = **c;
      if (scaled.is_const) {
        for (float& v : scaled.c.f) v *= beta;
      } else if (beta != 1.0f) {
        Val factor;
        factor.is_const = true;
        factor.c.f = {beta};
        scaled = im.graph_val(im.builder_.node(OpType::Mul, OpAttrs(), {scaled.v, im.materialize(factor, name + ".beta", false)},
                                         name + ".beta_c"), false);
      }
      y = im.builder_.node(OpType::Add, OpAttrs(), {y, im.nchw(&scaled, name + ".c")}, name + ".bias");
    }
    im.set(node, 0, im.graph_val(y, false));
    return im.check(name);
  }
  const HostTensor& weight = (*b)->c;
  const int64_t k = trans_b ? weight.dims[1] : weight.dims[0], n = trans_b ? weight.dims[0] : weight.dims[1];
  std::vector<float> w(static_cast<size_t>(n * k));  // [out, in]
  for (int64_t o = 0; o < n; ++o)
    for (int64_t i = 0; i < k; ++i)
      w[static_cast<size_t>(o * k + i)] = alpha * static_cast<float>(trans_b ? weight.at(o * k + i) : weight.at(i * n + o));
  std::vector<Value> inputs = {x, im.builder_.parameter(node.input(1), make_desc(DType::F32, {n, k}), w)};
  if (!matmul && im.has_input(node, 2)) {
    Result<Val*> c = im.get(node, 2);
    if (!c.is_ok()) return c.status();
    const HostTensor& bias = (*c)->c;
    PF_CHECK((*c)->is_const && (bias.count() == n || bias.count() == 1), Error::kUnsupported,
             "%s: node '%s' (Gemm): C must be a constant of %lld values (or one)", im.source_.c_str(), name.c_str(),
             static_cast<long long>(n));
    std::vector<float> values(static_cast<size_t>(n));
    for (int64_t o = 0; o < n; ++o) values[static_cast<size_t>(o)] = beta * static_cast<float>(bias.at(bias.count() == 1 ? 0 : o));
    inputs.push_back(im.builder_.parameter(node.input(2), make_desc(DType::F32, {n}), values));
  }
  im.set(node, 0, im.graph_val(drop_added_dims(im.builder_.node(OpType::Linear, OpAttrs(), inputs, name)), false));
  return im.check(name);
}

// Constant: its value (a tensor, or value_float(s) / value_int(s)) held here for folding.
Status convert_constant(Importer& im, const NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* a = nullptr;
  Val val;
  val.is_const = true;
  if (attr(node, "value", &a)) {
    PF_RETURN_IF_ERROR(im.read_tensor(a->t(), &val.c));
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
                         im.source_.c_str(), name.c_str());
  }
  im.set(node, 0, std::move(val));
  return Status::ok();
}

// Identity, and Dropout at inference: the input itself.
Status convert_identity(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> x = im.get(node, 0);
  if (!x.is_ok()) return x.status();
  im.set(node, 0, **x);  // inference: the identity
  return Status::ok();
}

// Shape (with start and end): a constant, from the ONNX dims of the input.
Status convert_shape(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> x = im.get(node, 0);
  if (!x.is_ok()) return x.status();
  const std::vector<int64_t> dims = im.onnx_dims(**x);
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
  im.set(node, 0, std::move(val));
  return Status::ok();
}

// Relu, Sigmoid, Tanh, HardSwish, HardSigmoid (alpha, beta), Clip (its bounds attributes before
// opset 11, constant inputs after): the layout of the input is kept.
Status convert_activation(Importer& im, const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  OpAttrs attrs;
  const OpType type = op == "Relu"          ? OpType::Relu
                      : op == "Sigmoid"     ? OpType::Sigmoid
                      : op == "Tanh"        ? OpType::Tanh
                      : op == "HardSwish"   ? OpType::HardSwish
                      : op == "HardSigmoid" ? OpType::HardSigmoid
                                            : OpType::Clamp;
  if (op == "HardSigmoid") {
    attrs.kind = fb::Attrs::HardSigmoidAttrs;
    attrs.hard_sigmoid.alpha = attr_float(node, "alpha", 0.2f);
    attrs.hard_sigmoid.beta = attr_float(node, "beta", 0.5f);
  }
  if (op == "Clip") {
    attrs.kind = fb::Attrs::ClampAttrs;
    attrs.clamp.min = -FLT_MAX, attrs.clamp.max = FLT_MAX;
    if (im.opset_ < 11) {
      attrs.clamp.min = attr_float(node, "min", -FLT_MAX), attrs.clamp.max = attr_float(node, "max", FLT_MAX);
    }
    for (int i = 1; i <= 2; ++i) {
      if (!im.has_input(node, i)) continue;
      Result<Val*> bound = im.get(node, i);
      if (!bound.is_ok()) return bound.status();
      PF_CHECK((*bound)->is_const && (*bound)->c.count() == 1, Error::kUnsupported,
               "%s: node '%s' (Clip): %s must be a constant scalar", im.source_.c_str(), name.c_str(), i == 1 ? "min" : "max");
      (i == 1 ? attrs.clamp.min : attrs.clamp.max) = static_cast<float>((*bound)->c.at(0));
    }
  }
  im.set(node, 0, im.graph_val(im.builder_.node(type, attrs, {x->v}, name), x->nhwc));
  return im.check(name);
}

// Sqrt, Exp, Log, Neg, Abs, Reciprocal, Erf, LeakyRelu and Elu (alpha; ONNX's defaults 0.01 and
// 1), Swish (opset 24; alpha 1 only, as Silu): elementwise, the layout of the input kept. A constant input is folded (the math ops) or
// stored (LeakyRelu, Elu).
Status convert_elementwise(Importer& im, const NodeProto& node, const std::string& name) {
  static const struct {
    const char* onnx;
    OpType op;
  } kOps[] = {{"Swish", OpType::Silu}, {"Sqrt", OpType::Sqrt}, {"Exp", OpType::Exp}, {"Log", OpType::Log},
              {"Neg", OpType::Neg}, {"Abs", OpType::Abs}, {"Reciprocal", OpType::Reciprocal},
              {"Erf", OpType::Erf}, {"LeakyRelu", OpType::LeakyRelu}, {"Elu", OpType::Elu}};
  const std::string& op = node.op_type();
  OpType type = OpType::Sqrt;
  for (const auto& entry : kOps) {
    if (op == entry.onnx) type = entry.op;
  }
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  OpAttrs attrs;
  PF_CHECK(type != OpType::Silu || attr_float(node, "alpha", 1.0f) == 1.0f, Error::kUnsupported,
           "%s: node '%s' (Swish): alpha %g (preflight's Silu is alpha 1)", im.source_.c_str(), name.c_str(),
           static_cast<double>(attr_float(node, "alpha", 1.0f)));
  if (type == OpType::LeakyRelu || type == OpType::Elu) {
    attrs.kind = fb::Attrs::AlphaAttrs;
    attrs.alpha.alpha = attr_float(node, "alpha", type == OpType::LeakyRelu ? 0.01f : 1.0f);
  }
  const Value in = x->is_const ? im.materialize(*x, name + ".x", false) : x->v;
  im.set(node, 0, im.graph_val(im.builder_.node(type, attrs, {in}, name), !x->is_const && x->nhwc));
  return im.check(name);
}

// Pow of an activation by a constant scalar exponent, as the ops it is: 1 the identity, 2 x * x,
// 3 x * x * x, 0.5 Sqrt, -1 Reciprocal, -0.5 Reciprocal of Sqrt (exporters write Pow(x, 2) for
// variances and Pow(x, 0.5) for norms). Other exponents are refused.
Status convert_pow(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Result<Val*> er = im.get(node, 1);
  if (!er.is_ok()) return er.status();
  Val* x = *xr;
  PF_CHECK((*er)->is_const && (*er)->c.count() == 1, Error::kUnsupported,
           "%s: node '%s' (Pow): the exponent must be a constant scalar", im.source_.c_str(), name.c_str());
  const double e = (*er)->c.at(0);
  const Value in = x->is_const ? im.materialize(*x, name + ".x", false) : x->v;
  const bool nhwc = !x->is_const && x->nhwc;
  Value y = in;
  if (e == 2.0 || e == 3.0) {
    y = im.builder_.node(OpType::Mul, OpAttrs(), {in, in}, e == 2.0 ? name : name + ".square");
    if (e == 3.0) y = im.builder_.node(OpType::Mul, OpAttrs(), {y, in}, name);
  } else if (e == 0.5 || e == -0.5) {
    y = im.builder_.node(OpType::Sqrt, OpAttrs(), {in}, e == 0.5 ? name : name + ".sqrt");
    if (e == -0.5) y = im.builder_.node(OpType::Reciprocal, OpAttrs(), {y}, name);
  } else if (e == -1.0) {
    y = im.builder_.node(OpType::Reciprocal, OpAttrs(), {in}, name);
  } else {
    PF_CHECK(e == 1.0, Error::kUnsupported,
             "%s: node '%s' (Pow): exponent %g on an activation (preflight takes 1, 2, 3, 0.5, -0.5 and -1)",
             im.source_.c_str(), name.c_str(), e);
  }
  im.set(node, 0, im.graph_val(y, nhwc));
  return im.check(name);
}

// A Slice node of `window` (ONNX dims) on x, in x's layout.
Status add_slice(Importer& im, Val* x, const SliceWindow& window, const std::string& name, Value* out) {
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  const bool nhwc = x->nhwc && dims.size() == 4;
  OpAttrs attrs;
  attrs.kind = fb::Attrs::SliceAttrs;
  attrs.slice.rank = static_cast<int>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    PF_CHECK(window.count[d] > 0, Error::kUnsupported, "%s: node '%s' (Slice): an empty window on axis %zu of an activation",
             im.source_.c_str(), name.c_str(), d);
    const size_t at = nhwc ? static_cast<size_t>(kStorage[d]) : d;
    attrs.slice.start[at] = window.first[d], attrs.slice.step[at] = window.step[d], attrs.slice.size[at] = window.count[d];
    // The whole dim as -1: the batch (and any untouched dim) follows the input when re-planned.
    if (window.first[d] == 0 && window.step[d] == 1 && window.count[d] == dims[d]) attrs.slice.size[at] = -1;
  }
  *out = im.builder_.node(OpType::Slice, attrs, {x->v}, name);
  return Status::ok();
}

// Slice of an activation: starts, ends, axes and steps constant (attributes before opset 10).
Status convert_slice(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  std::vector<std::vector<int64_t>> args(4);  // starts, ends, axes, steps
  if (im.opset_ < 10) {
    args[0] = attr_ints(node, "starts", {}), args[1] = attr_ints(node, "ends", {}), args[2] = attr_ints(node, "axes", {});
  } else {
    for (int i = 1; i <= 4; ++i) {
      if (!im.has_input(node, i)) continue;
      const std::string refusal = "input " + std::to_string(i) + " must be a constant";
      PF_RETURN_IF_ERROR(constant_ints(im, node, i, name, refusal, &args[static_cast<size_t>(i - 1)]));
    }
  }
  SliceWindow window;
  PF_RETURN_IF_ERROR(slice_window(im.source_, name, im.onnx_dims(*x), args[0], args[1], args[2], args[3], &window));
  Value y;
  PF_RETURN_IF_ERROR(add_slice(im, x, window, name, &y));
  im.set(node, 0, im.graph_val(y, x->nhwc));
  return im.check(name);
}

// Gather of an activation by constant indices (x[..., i] and x[..., a:b:s] as exporters write
// them): a scalar index is a Slice of one element with the axis dropped; a 1-D list that steps
// evenly is one Slice. Other indices, and indices fed at run time (an embedding lookup), are
// refused.
Status convert_gather(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Result<Val*> ir = im.get(node, 1);
  if (!ir.is_ok()) return ir.status();
  Val* x = *xr;
  const HostTensor& indices = (*ir)->c;
  PF_CHECK((*ir)->is_const && indices.dims.size() <= 1 && indices.count() >= 1, Error::kUnsupported,
           "%s: node '%s' (Gather): of an activation, only by a constant scalar or 1-D index list", im.source_.c_str(), name.c_str());
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  int64_t axis = attr_int(node, "axis", 0);
  PF_RETURN_IF_ERROR(normalize_axis(im.source_, name, "Gather", "axis", static_cast<int64_t>(dims.size()), &axis));
  const int64_t extent = dims[static_cast<size_t>(axis)];
  std::vector<int64_t> at;
  for (int64_t k = 0; k < indices.count(); ++k) {
    int64_t i = indices.int_at(k);
    PF_CHECK(i >= -extent && i < extent, Error::kInvalidModel, "%s: node '%s' (Gather): index %lld is outside [%lld, %lld)",
             im.source_.c_str(), name.c_str(), static_cast<long long>(i), static_cast<long long>(-extent), static_cast<long long>(extent));
    at.push_back(i < 0 ? i + extent : i);
  }
  const int64_t step = at.size() > 1 ? at[1] - at[0] : 1;
  for (size_t k = 1; k < at.size(); ++k) {
    PF_CHECK(at[k] - at[k - 1] == step && step != 0, Error::kUnsupported,
             "%s: node '%s' (Gather): of an activation, indices that step evenly only", im.source_.c_str(), name.c_str());
  }
  SliceWindow window;
  window.first.assign(dims.size(), 0), window.step.assign(dims.size(), 1), window.count = dims;
  window.first[static_cast<size_t>(axis)] = at[0], window.step[static_cast<size_t>(axis)] = step;
  window.count[static_cast<size_t>(axis)] = static_cast<int64_t>(at.size());
  Value y;
  PF_RETURN_IF_ERROR(add_slice(im, x, window, indices.dims.empty() ? name + ".window" : name, &y));
  if (!indices.dims.empty()) {
    im.set(node, 0, im.graph_val(y, x->nhwc));
    return im.check(name);
  }
  // A scalar index drops the axis: the window in ONNX order, reshaped.
  Val sliced = im.graph_val(y, x->nhwc && dims.size() == 4);
  std::vector<int64_t> shape = dims;
  shape.erase(shape.begin() + axis);
  if (axis != 0) shape[0] = 0;  // "copy dim 0": the batch stays re-plannable
  const Value plain = im.nchw(&sliced, name + ".window");
  im.set(node, 0, im.graph_val(im.reshape(plain, shape.empty() ? std::vector<int64_t>{1} : shape, name), false));
  return im.check(name);
}

// Pad: only the identity yet, every pad 0 (torch 1.13 writes one before each AveragePool of
// densenet's transitions); a Pad that pads is refused naming it (no Pad op in preflight yet).
Status convert_pad(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  std::vector<int64_t> pads = attr_ints(node, "pads", {});
  if (im.opset_ >= 11 && im.has_input(node, 1)) PF_RETURN_IF_ERROR(constant_ints(im, node, 1, name, "pads must be a constant", &pads));
  for (int64_t v : pads) {
    PF_CHECK(v == 0, Error::kUnsupported, "%s: node '%s' (Pad): pads that are not 0 (preflight has no Pad op yet)", im.source_.c_str(),
             name.c_str());
  }
  im.set(node, 0, **xr);
  return Status::ok();
}

// Split: one Slice per output along axis; the sizes from `split` (an attribute before opset 13, a
// constant input after), or equal parts (num_outputs from opset 18, else the output count), the
// last one smaller when the axis does not divide.
Status convert_split(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val stored;  // a constant input is stored as a tensor of the model, then sliced
  if ((*xr)->is_const) {
    stored = **xr;
    stored.v = im.materialize(**xr, name + ".x", false);
    stored.is_const = false, stored.nhwc = false;
  }
  Val* x = (*xr)->is_const ? &stored : *xr;
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  int64_t axis = attr_int(node, "axis", 0);
  PF_RETURN_IF_ERROR(normalize_axis(im.source_, name, "Split", "axis", static_cast<int64_t>(dims.size()), &axis));
  std::vector<int64_t> sizes = attr_ints(node, "split", {});
  if (im.has_input(node, 1)) PF_RETURN_IF_ERROR(constant_ints(im, node, 1, name, "split must be a constant", &sizes));
  const int64_t extent = dims[static_cast<size_t>(axis)], parts = node.output_size();
  if (sizes.empty()) {
    const int64_t each = (extent + parts - 1) / parts;  // ceil, as the spec's num_outputs rule
    for (int64_t k = 0; k < parts; ++k) sizes.push_back(std::max<int64_t>(0, std::min(each, extent - k * each)));
  }
  int64_t total = 0;
  for (int64_t v : sizes) {
    PF_CHECK(v > 0, Error::kUnsupported, "%s: node '%s' (Split): an output of %lld elements along the axis (preflight's tensors are not empty)",
             im.source_.c_str(), name.c_str(), static_cast<long long>(v));
    total += v;
  }
  PF_CHECK(static_cast<int64_t>(sizes.size()) == parts && total == extent, Error::kInvalidModel,
           "%s: node '%s' (Split): %zu sizes summing to %lld for %lld outputs along an axis of %lld", im.source_.c_str(),
           name.c_str(), sizes.size(), static_cast<long long>(total), static_cast<long long>(parts), static_cast<long long>(extent));
  int64_t start = 0;
  for (int o = 0; o < node.output_size(); ++o) {
    SliceWindow window;
    PF_RETURN_IF_ERROR(slice_window(im.source_, name, dims, {start}, {start + sizes[static_cast<size_t>(o)]}, {axis}, {}, &window));
    start += sizes[static_cast<size_t>(o)];
    if (node.output(o).empty()) continue;
    Value y;
    PF_RETURN_IF_ERROR(add_slice(im, x, window, name + (o ? "." + std::to_string(o) : ""), &y));
    im.set(node, o, im.graph_val(y, x->nhwc));
    PF_RETURN_IF_ERROR(im.check(name));
  }
  return Status::ok();
}

// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceL2: axes as an attribute (before opset 18, 13
// for ReduceSum) or a constant input, keepdims (default 1), noop_with_empty_axes. An NHWC input
// stays NHWC when the dims kept keep their order; a mean over H and W of a 4-D input is
// GlobalAvgPool (the SIMD backends run it).
Status convert_reduce(Importer& im, const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  const int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<int64_t> axes = attr_ints(node, "axes", {});
  if (im.has_input(node, 1)) PF_RETURN_IF_ERROR(constant_ints(im, node, 1, name, "axes must be a constant", &axes));
  const bool keep = attr_int(node, "keepdims", 1) != 0;
  if (axes.empty() && attr_int(node, "noop_with_empty_axes", 0) != 0) {
    im.set(node, 0, *x);  // no axes: the identity
    return Status::ok();
  }
  uint32_t mask = 0;  // ONNX dims
  for (int64_t a : axes) {
    PF_RETURN_IF_ERROR(normalize_axis(im.source_, name, op, "axes entry", rank, &a));
    mask |= 1u << a;
  }
  if (axes.empty()) mask = (1u << rank) - 1;  // every dim
  const OpType type = op == "ReduceMean"  ? OpType::ReduceMean
                      : op == "ReduceSum" ? OpType::ReduceSum
                      : op == "ReduceMax" ? OpType::ReduceMax
                      : op == "ReduceMin" ? OpType::ReduceMin
                                          : OpType::ReduceL2;
  if (type == OpType::ReduceMean && rank == 4 && mask == 0xCu) {
    OpAttrs attrs;
    attrs.kind = fb::Attrs::GlobalPoolAttrs;
    attrs.global_pool.keep_dims = keep;  // [N, 1, 1, C] stored, as ONNX's [N, C, 1, 1]; else [N, C]
    im.set(node, 0, im.graph_val(im.builder_.node(OpType::GlobalAvgPool, attrs, {im.nhwc(x, name + ".x")}, name), keep));
    return im.check(name);
  }
  // NHWC storage when the dims kept are in ONNX order there (always with keepdims).
  bool nhwc = !x->is_const && x->nhwc && rank == 4;
  if (nhwc && !keep) {
    int last = -1;
    for (int s = 0; s < 4; ++s) {
      const int d = s == 0 ? 0 : (s == 3 ? 1 : s + 1);  // the ONNX dim at storage position s
      if ((mask >> d) & 1u) continue;
      nhwc = nhwc && d > last;
      last = d;
    }
  }
  OpAttrs attrs;
  attrs.kind = fb::Attrs::ReduceAttrs;
  attrs.reduce.keep_dims = keep;
  for (int64_t d = 0; d < rank; ++d) {
    if ((mask >> d) & 1u) attrs.reduce.axes |= 1u << (nhwc ? kStorage[d] : d);
  }
  const Value in = nhwc ? im.nhwc(x, name + ".x") : im.nchw(x, name + ".x");
  im.set(node, 0, im.graph_val(im.builder_.node(type, attrs, {in}, name), nhwc && keep));
  return im.check(name);
}

// BatchNormalization (inference): scale and bias become parameters, mean and variance buffers.
Status convert_batch_norm(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  PF_CHECK(dims.size() == 4 || dims.size() == 2, Error::kUnsupported,
           "%s: node '%s' (BatchNormalization): inputs of rank 2 or 4, got %s", im.source_.c_str(), name.c_str(),
           dims_text(dims).c_str());
  OpAttrs attrs;
  attrs.kind = fb::Attrs::NormAttrs;
  attrs.norm.epsilon = attr_float(node, "epsilon", 1e-5f);
  attrs.norm.axis = dims.size() == 4 ? 3 : 1;  // the channels: last in NHWC
  std::vector<Value> inputs = {dims.size() == 4 ? im.nhwc(x, name + ".x") : x->v};
  for (int i = 1; i <= 4; ++i) {
    Result<Val*> p = im.get(node, i);
    if (!p.is_ok()) return p.status();
    PF_CHECK(im.onnx_dims(**p).size() == 1 && (!(*p)->is_const || (*p)->c.dtype == DType::F32), Error::kUnsupported,
             "%s: node '%s' (BatchNormalization): input '%s' must be a 1-D float tensor", im.source_.c_str(), name.c_str(),
             node.input(i).c_str());
    if (!(*p)->is_const) {
      inputs.push_back((*p)->v);  // fed at run time
      continue;
    }
    const TensorDesc desc = make_desc(DType::F32, {(*p)->c.dims[0]});
    inputs.push_back(i <= 2 ? im.builder_.parameter(node.input(i), desc, (*p)->c.f) : im.builder_.buffer(node.input(i), desc, (*p)->c.f));
  }
  im.set(node, 0, im.graph_val(im.builder_.node(OpType::BatchNorm, attrs, inputs, name), dims.size() == 4));
  return im.check(name);
}

// LayerNormalization over the ONNX axes [axis, rank), in the ONNX layout.
Status convert_layer_norm(Importer& im, const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  // Over the ONNX axes [axis, rank): in the ONNX layout (an NHWC value goes back to NCHW).
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  const int64_t rank = static_cast<int64_t>(dims.size());
  int64_t axis = attr_int(node, "axis", -1);
  PF_RETURN_IF_ERROR(normalize_axis(im.source_, name, op, "axis", rank, &axis));
  OpAttrs attrs;
  attrs.kind = fb::Attrs::NormAttrs;
  attrs.norm.axis = static_cast<int>(axis);
  attrs.norm.epsilon = attr_float(node, "epsilon", 1e-5f);
  std::vector<Value> inputs = {im.nchw(x, name + ".x")};
  TensorDesc normalized;
  normalized.dtype = DType::F32;
  normalized.rank = static_cast<int>(rank - axis);
  for (int64_t d = axis; d < rank; ++d) normalized.dims[d - axis] = dims[static_cast<size_t>(d)];
  for (int i = 1; i <= 2 && im.has_input(node, i); ++i) {
    Result<Val*> p = im.get(node, i);
    if (!p.is_ok()) return p.status();
    PF_CHECK((*p)->is_const ? (*p)->c.count() == normalized.num_elements() : im.onnx_dims(**p).size() == static_cast<size_t>(normalized.rank),
             Error::kUnsupported, "%s: node '%s' (LayerNormalization): '%s' must have the normalized shape", im.source_.c_str(),
             name.c_str(), node.input(i).c_str());
    if ((*p)->is_const) {
      std::vector<float> values(static_cast<size_t>(normalized.num_elements()));
      for (int64_t k = 0; k < normalized.num_elements(); ++k) values[static_cast<size_t>(k)] = static_cast<float>((*p)->c.at(k));
      inputs.push_back(im.builder_.parameter(node.input(i), normalized, values));
    } else {
      inputs.push_back((*p)->v);
    }
  }
  im.set(node, 0, im.graph_val(im.builder_.node(OpType::LayerNorm, attrs, inputs, name), false));
  return im.check(name);
}

// Softmax and LogSoftmax on one axis (before opset 13 on 2-D inputs, or the last axis).
Status convert_softmax(Importer& im, const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  const int64_t rank = static_cast<int64_t>(im.onnx_dims(*x).size());
  int64_t axis = attr_int(node, "axis", im.opset_ >= 13 ? -1 : 1);
  PF_RETURN_IF_ERROR(normalize_axis(im.source_, name, op, "axis", rank, &axis));
  if (im.opset_ < 13 && rank != 2) {
    PF_CHECK(axis == rank - 1, Error::kUnsupported,
             "%s: node '%s' (%s): before opset 13 only the last axis of a rank-%lld input", im.source_.c_str(), name.c_str(),
             op.c_str(), static_cast<long long>(rank));
  }
  OpAttrs attrs;
  attrs.kind = fb::Attrs::AxisAttrs;
  attrs.axis.axis = static_cast<int>(x->nhwc ? kStorage[axis] : axis);
  im.set(node, 0, im.graph_val(im.builder_.node(op == "Softmax" ? OpType::Softmax : OpType::LogSoftmax, attrs, {x->v}, name), x->nhwc));
  return im.check(name);
}

// Flatten at an axis, in the ONNX layout.
Status convert_flatten(Importer& im, const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  int64_t axis = attr_int(node, "axis", 1);
  // Flatten's axis is in [-rank, rank]: axis == rank makes [N..., 1].
  PF_RETURN_IF_ERROR(normalize_axis(im.source_, name, op, "axis", static_cast<int64_t>(dims.size()) + 1, &axis));
  OpAttrs attrs;
  attrs.kind = fb::Attrs::AxisAttrs;
  attrs.axis.axis = static_cast<int>(axis);
  // NHWC with H = W = 1 has the NCHW order already (after global pooling).
  const bool trivial = x->nhwc && dims[2] == 1 && dims[3] == 1 && axis == 1;
  const Value in = trivial ? x->v : im.nchw(x, name + ".x");
  im.set(node, 0, im.graph_val(im.builder_.node(OpType::Flatten, attrs, {in}, name), false));
  return im.check(name);
}

// Reshape (to a constant shape, 0 copying a dim), Unsqueeze and Squeeze.
Status convert_reshape(Importer& im, const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  std::vector<int64_t> shape;
  if (op == "Reshape") {
    PF_RETURN_IF_ERROR(constant_ints(im, node, 1, name, "the shape must be constant after folding", &shape));
    // allowzero=1 (opset 14; torch's dynamo exporter always sets it): a 0 is a zero-size dim, not
    // "copy the input's": the same Reshape when the shape has no 0.
    const bool allowzero = attr_int(node, "allowzero", 0) != 0;
    for (size_t d = 0; d < shape.size(); ++d) {
      PF_CHECK(!(allowzero && shape[d] == 0), Error::kUnsupported,
               "%s: node '%s' (Reshape): allowzero=1 with a 0 in the shape (a zero-size tensor)", im.source_.c_str(),
               name.c_str());
      if (shape[d] == 0 && d < dims.size()) shape[d] = dims[d];
    }
  } else {
    std::vector<int64_t> axes = attr_ints(node, "axes", {});
    if (im.opset_ >= 13 && im.has_input(node, 1)) {
      PF_RETURN_IF_ERROR(constant_ints(im, node, 1, name, "the axes must be constant", &axes));
    }
    shape = squeezed_shape(op == "Unsqueeze", dims, axes);
  }
  PF_CHECK(!shape.empty() && shape.size() <= static_cast<size_t>(kMaxRank), Error::kUnsupported,
           "%s: node '%s' (%s): target rank %zu", im.source_.c_str(), name.c_str(), op.c_str(), shape.size());
  // The batch: a target dim 0 equal to the input's batch is written as "copy dim 0", so the
  // model can be re-planned for another batch.
  OpAttrs attrs;
  attrs.kind = fb::Attrs::ReshapeAttrs;
  attrs.reshape.rank = static_cast<int>(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) attrs.reshape.shape[d] = shape[d];
  if (!dims.empty() && shape[0] == dims[0] && shape.size() >= 1) attrs.reshape.shape[0] = 0;
  // [N, 1, 1, C] stored is [N, C, 1, 1] in ONNX order already: only the shape changes.
  const bool trivial = x->nhwc && dims[2] == 1 && dims[3] == 1;
  const Value in = x->nhwc && !trivial ? im.nchw(x, name + ".x") : x->v;
  im.set(node, 0, im.graph_val(im.builder_.node(OpType::Reshape, attrs, {in}, name), false));
  return im.check(name);
}

// Transpose: the permutation in storage order.
Status convert_transpose(Importer& im, const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  const std::vector<int64_t> dims = im.onnx_dims(*x);
  const int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<int64_t> perm = attr_ints(node, "perm", {});
  if (perm.empty()) for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
  PF_CHECK(static_cast<int64_t>(perm.size()) == rank, Error::kInvalidModel, "%s: node '%s' (Transpose): perm has %zu entries for rank %lld",
           im.source_.c_str(), name.c_str(), perm.size(), static_cast<long long>(rank));
  OpAttrs attrs;
  attrs.kind = fb::Attrs::TransposeAttrs;
  attrs.transpose.rank = static_cast<int>(rank);
  // Storage of an NHWC value: ONNX dim d lives at kStorage[d].
  for (int64_t d = 0; d < rank; ++d) {
    int64_t p = perm[static_cast<size_t>(d)];
    PF_RETURN_IF_ERROR(normalize_axis(im.source_, name, op, "perm entry", rank, &p));
    attrs.transpose.perm[d] = static_cast<int>(x->nhwc ? kStorage[p] : p);
  }
  im.set(node, 0, im.graph_val(im.builder_.node(OpType::Transpose, attrs, {x->v}, name), false));
  return im.check(name);
}

// Concat: NHWC when every input is 4-D and in NHWC or a constant, else the ONNX layout.
Status convert_concat(Importer& im, const NodeProto& node, const std::string& name) {
  const std::string& op = node.op_type();
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  const int64_t rank = static_cast<int64_t>(im.onnx_dims(*x).size());
  int64_t axis = attr_int(node, "axis", 0);
  PF_RETURN_IF_ERROR(normalize_axis(im.source_, name, op, "axis", rank, &axis));
  bool all_nhwc = rank == 4;
  for (int i = 0; i < node.input_size(); ++i) {
    Result<Val*> v = im.get(node, i);
    if (!v.is_ok()) return v.status();
    all_nhwc = all_nhwc && ((*v)->is_const || (*v)->nhwc);
  }
  std::vector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i) {
    Val* v = *im.get(node, i);
    inputs.push_back(all_nhwc ? im.nhwc(v, name + ".in" + std::to_string(i)) : im.nchw(v, name + ".in" + std::to_string(i)));
  }
  OpAttrs attrs;
  attrs.kind = fb::Attrs::AxisAttrs;
  attrs.axis.axis = static_cast<int>(all_nhwc ? kStorage[axis] : axis);
  im.set(node, 0, im.graph_val(im.builder_.node(OpType::Concat, attrs, inputs, name), all_nhwc));
  return im.check(name);
}

// Cast of an activation: to float only (the identity).
Status convert_cast(Importer& im, const NodeProto& node, const std::string& name) {
  Result<Val*> xr = im.get(node, 0);
  if (!xr.is_ok()) return xr.status();
  Val* x = *xr;
  const int64_t to = attr_int(node, "to", TensorProto::FLOAT);
  PF_CHECK(to == TensorProto::FLOAT, Error::kUnsupported, "%s: node '%s' (Cast): of an activation to type %lld", im.source_.c_str(),
           name.c_str(), static_cast<long long>(to));
  im.set(node, 0, *x);
  return Status::ok();
}

Status convert_add(Importer& im, const NodeProto& node, const std::string& name) { return binary(im, node, name, OpType::Add); }
Status convert_sub(Importer& im, const NodeProto& node, const std::string& name) { return binary(im, node, name, OpType::Sub); }
Status convert_mul(Importer& im, const NodeProto& node, const std::string& name) { return binary(im, node, name, OpType::Mul); }
Status convert_div(Importer& im, const NodeProto& node, const std::string& name) { return binary(im, node, name, OpType::Div); }
Status convert_gemm(Importer& im, const NodeProto& node, const std::string& name) { return gemm(im, node, name, false); }
Status convert_matmul(Importer& im, const NodeProto& node, const std::string& name) { return gemm(im, node, name, true); }

// Every ONNX op preflight imports, and how. Adding one: a converter above and a row here
// (docs/adding-an-op.md); an op that is refused for some attribute values says so in
// unsupported_reason below.
constexpr OnnxConverter kConverters[] = {
    {"Constant", convert_constant, Folding::kOwnRule},
    {"Identity", convert_identity, Folding::kOwnRule},
    {"Dropout", convert_identity, Folding::kOwnRule},
    {"Shape", convert_shape, Folding::kOwnRule},
    {"Add", convert_add, Folding::kFolds},
    {"Sub", convert_sub, Folding::kFolds},
    {"Mul", convert_mul, Folding::kFolds},
    {"Div", convert_div, Folding::kFolds},
    {"Conv", convert_conv, Folding::kKeepsConstants},
    {"MaxPool", convert_pool, Folding::kFolds},
    {"AveragePool", convert_pool, Folding::kFolds},
    {"GlobalAveragePool", convert_pool, Folding::kFolds},
    {"Gemm", convert_gemm, Folding::kKeepsConstants},
    {"MatMul", convert_matmul, Folding::kKeepsConstants},
    {"Relu", convert_activation, Folding::kFolds},
    {"Sigmoid", convert_activation, Folding::kFolds},
    {"Tanh", convert_activation, Folding::kFolds},
    {"Clip", convert_activation, Folding::kFolds},
    {"HardSwish", convert_activation, Folding::kFolds},
    {"HardSigmoid", convert_activation, Folding::kFolds},
    {"Sqrt", convert_elementwise, Folding::kFolds},
    {"Exp", convert_elementwise, Folding::kFolds},
    {"Log", convert_elementwise, Folding::kFolds},
    {"Neg", convert_elementwise, Folding::kFolds},
    {"Abs", convert_elementwise, Folding::kFolds},
    {"Reciprocal", convert_elementwise, Folding::kFolds},
    {"Erf", convert_elementwise, Folding::kFolds},
    {"LeakyRelu", convert_elementwise, Folding::kKeepsConstants},
    {"Swish", convert_elementwise, Folding::kKeepsConstants},
    {"Elu", convert_elementwise, Folding::kKeepsConstants},
    {"Pow", convert_pow, Folding::kFolds},
    {"ReduceMean", convert_reduce, Folding::kKeepsConstants},
    {"ReduceSum", convert_reduce, Folding::kKeepsConstants},
    {"ReduceMax", convert_reduce, Folding::kKeepsConstants},
    {"ReduceMin", convert_reduce, Folding::kKeepsConstants},
    {"ReduceL2", convert_reduce, Folding::kKeepsConstants},
    {"BatchNormalization", convert_batch_norm, Folding::kKeepsConstants},
    {"LayerNormalization", convert_layer_norm, Folding::kFolds},
    {"Softmax", convert_softmax, Folding::kFolds},
    {"LogSoftmax", convert_softmax, Folding::kFolds},
    {"Flatten", convert_flatten, Folding::kFolds},
    {"Reshape", convert_reshape, Folding::kFolds},
    {"Unsqueeze", convert_reshape, Folding::kFolds},
    {"Squeeze", convert_reshape, Folding::kFolds},
    {"Transpose", convert_transpose, Folding::kFolds},
    {"Concat", convert_concat, Folding::kFolds},
    {"Cast", convert_cast, Folding::kFolds},
    {"Gather", convert_gather, Folding::kFolds},
    {"ConstantOfShape", nullptr, Folding::kFolds},
    {"Slice", convert_slice, Folding::kFolds},
    {"Split", convert_split, Folding::kKeepsConstants},
    {"Pad", convert_pad, Folding::kKeepsConstants},
};

}  // namespace

const OnnxConverter* find_converter(const std::string& op) {
  for (const OnnxConverter& converter : kConverters) {
    if (op == converter.op) return &converter;
  }
  return nullptr;
}

std::string unsupported_reason(const NodeProto& node, int opset, bool constant) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") return "domain '" + node.domain() + "' is not ONNX's";
  if (!find_converter(node.op_type())) {
    if (constant && can_fold(node.op_type())) return "";  // shape arithmetic: evaluated at import
    return constant ? "no such op in preflight, and the import cannot fold it on constants" : "no such op in preflight";
  }
  const std::string& op = node.op_type();
  if (op == "Conv" || op == "MaxPool" || op == "AveragePool") {
    const std::vector<int64_t> kernel = attr_ints(node, "kernel_shape", {});
    if (!kernel.empty() && kernel.size() != 2) return "only 2-D windows (kernel_shape has " + std::to_string(kernel.size()) + " dims)";
    if (op != "Conv" && attr_int(node, "storage_order", 0) != 0) return "storage_order=1";
    const std::vector<int64_t> dilations = attr_ints(node, "dilations", {1, 1});
    if (op != "Conv" && (dilations.size() != 2 || dilations[0] != 1 || dilations[1] != 1)) return "pooling with dilations";
    if (op == "MaxPool" && node.output_size() > 1 && !node.output(1).empty()) return "MaxPool's indices output";
    const std::string pad = attr_string(node, "auto_pad", "NOTSET");
    if (pad != "NOTSET" && pad != "VALID" && pad != "SAME_UPPER" && pad != "SAME_LOWER") return "auto_pad=" + pad;
  }
  if (op == "BatchNormalization" && opset < 9 && attr_int(node, "spatial", 1) == 0) {
    return "spatial=0 (statistics per element, before opset 9)";
  }
  if (op == "BatchNormalization" && (attr_int(node, "training_mode", 0) != 0 || node.output_size() > 1)) {
    return "training_mode (export the model in eval mode)";
  }
  if ((op == "Softmax" || op == "LogSoftmax") && opset < 13 && attr_int(node, "axis", 1) != 1 && attr_int(node, "axis", 1) != -1) {
    return "axis other than 1 or -1 before opset 13 (coerced to 2-D)";
  }
  if (op == "HardSwish" && opset < 14) return "HardSwish is an ONNX op from opset 14 on";
  if (op == "Dropout" && node.output_size() > 1 && !node.output(1).empty()) return "the mask output (boolean)";
  if (op == "LayerNormalization") {
    for (int o = 1; o < node.output_size(); ++o) {
      if (!node.output(o).empty()) return "the Mean and InvStdDev outputs";
    }
  }
  return "";
}

Status Importer::convert(const NodeProto& node, const std::string& name) {
  const OnnxConverter* converter = find_converter(node.op_type());
  // An op preflight does not run, on constants (unsupported_reason let it through): folded.
  if (converter == nullptr && can_fold(node.op_type())) return fold(node, name);
  PF_CHECK(converter != nullptr, Error::kUnsupported, "%s: node '%s' (%s): no such op in preflight", source_.c_str(),
           name.c_str(), node.op_type().c_str());
  if (converter->folding != Folding::kOwnRule) {
    // Everything on constants folds, but for the ops that keep constants as weights.
    bool all_const = true;
    for (int i = 0; i < node.input_size(); ++i) {
      if (node.input(i).empty()) continue;
      Result<Val*> v = get(node, i);
      if (!v.is_ok()) return v.status();
      all_const = all_const && (*v)->is_const;
    }
    if (all_const && converter->folding == Folding::kFolds) return fold(node, name);
  }
  PF_CHECK(converter->convert != nullptr, Error::kUnsupported, "%s: node '%s' (%s): preflight takes it only on constants",
           source_.c_str(), name.c_str(), node.op_type().c_str());
  return converter->convert(*this, node, name);
}

}  // namespace onnx_import
}  // namespace graph
}  // namespace preflight
