// Hand-checked values and every attribute / shape check of the ops' `infer`, made to fail on purpose.
#include <cmath>
#include "ops/registry.h"
#include "test_util.h"

namespace preflight {
namespace {

// Runs infer for `type`; returns its status and writes the output desc.
Status infer(OpType type, const OpAttrs& attrs, std::initializer_list<TensorDesc> inputs, TensorDesc* out = nullptr) {
  const OpDef* op = find_op(type);
  REQUIRE(op != nullptr);
  std::vector<TensorDesc> in(inputs);
  TensorDesc outputs[4];
  const Status status = op->infer(attrs, in.data(), static_cast<int>(in.size()), outputs);
  if (out) *out = outputs[0];
  return status;
}

void expect_error(const Status& status, const char* part) {
  REQUIRE_FALSE(status.is_ok());
  CHECK(status.code() == Error::kInvalidModel);
  CHECK_MESSAGE(test::contains(status.message(), part), "message: " << status.message() << " | expected: " << part);
}

TensorDesc f32(std::initializer_list<int64_t> dims) { return make_desc(DType::F32, dims); }

TEST_CASE("hand-checked: conv2d 3x3 of ones over a 3x3 ramp with padding 1") {
  // x = 1..9 in a 3x3 image; a 3x3 kernel of ones sums each pixel's neighbourhood.
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9], b[1] = {0.5f}, y[9] = {0};
  for (float& v : w) v = 1.0f;
  OpAttrs attrs;
  attrs.kind = fb::Attrs::Conv2dAttrs;
  attrs.conv.pad_top = attrs.conv.pad_left = attrs.conv.pad_bottom = attrs.conv.pad_right = 1;
  TensorView in[3] = {{f32({1, 3, 3, 1}), x}, {f32({1, 3, 3, 1}), w}, {f32({1}), b}};
  TensorView out = {f32({1, 3, 3, 1}), y};
  TensorDesc inferred;
  REQUIRE(infer(OpType::Conv2D, attrs, {in[0].desc, in[1].desc, in[2].desc}, &inferred).is_ok());
  CHECK(inferred == out.desc);
  REQUIRE(find_op(OpType::Conv2D)->forward(attrs, in, 3, &out).is_ok());
  const float expected[9] = {12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f};
  for (int i = 0; i < 9; ++i) CHECK(y[i] == expected[i]);
}

TEST_CASE("hand-checked: softmax cross-entropy of uniform logits is log(C)") {
  float logits[8] = {0};
  int64_t labels[2] = {1, 3};
  float loss = 0;
  OpAttrs attrs;
  TensorView in[2] = {{f32({2, 4}), logits}, {make_desc(DType::I64, {2}), labels}};
  TensorView out = {f32({}), &loss};
  REQUIRE(find_op(OpType::SoftmaxCrossEntropy)->forward(attrs, in, 2, &out).is_ok());
  CHECK(loss == doctest::Approx(std::log(4.0)).epsilon(1e-7));
}

TEST_CASE("cross-entropy: a label out of range fails at run time naming the row") {
  float logits[6] = {0};
  int64_t labels[2] = {1, 7};
  float loss = 0;
  OpAttrs attrs;
  TensorView in[2] = {{f32({2, 3}), logits}, {make_desc(DType::I64, {2}), labels}};
  TensorView out = {f32({}), &loss};
  const Status status = find_op(OpType::SoftmaxCrossEntropy)->forward(attrs, in, 2, &out);
  REQUIRE_FALSE(status.is_ok());
  CHECK(test::contains(status.message(), "label 7 in row 1 is outside [0, 3)"));
}

TEST_CASE("infer rejects bad attributes and shapes with a message naming the problem") {
  OpAttrs conv;
  conv.kind = fb::Attrs::Conv2dAttrs;
  SUBCASE("hard sigmoid with a non-finite alpha or beta, or an i64 input") {
    OpAttrs hard;
    hard.kind = fb::Attrs::HardSigmoidAttrs;
    hard.hard_sigmoid.alpha = std::nanf("");
    expect_error(infer(OpType::HardSigmoid, hard, {f32({2, 3})}), "HardSigmoid's alpha and beta must be finite, got alpha nan");
    hard.hard_sigmoid.alpha = 0.2f, hard.hard_sigmoid.beta = INFINITY;
    expect_error(infer(OpType::HardSigmoid, hard, {f32({2, 3})}), "beta inf");
    hard.hard_sigmoid.beta = 0.5f;
    expect_error(infer(OpType::HardSigmoid, hard, {make_desc(DType::I64, {2})}), "input 0");
    expect_error(infer(OpType::HardSwish, OpAttrs(), {make_desc(DType::I64, {2})}), "input 0");
  }
  SUBCASE("reductions over a dim past the rank; LeakyRelu and Elu with a non-finite alpha") {
    OpAttrs reduce;
    reduce.kind = fb::Attrs::ReduceAttrs;
    reduce.reduce.axes = 0x8u;
    expect_error(infer(OpType::ReduceMean, reduce, {f32({2, 3, 4})}), "reduced axes 0x8 name a dim at or past the input's rank 3");
    reduce.reduce.axes = 0x2u;
    expect_error(infer(OpType::ReduceMax, reduce, {f32({2, 0, 4})}), "dim 1 reduced has no elements");
    expect_error(infer(OpType::ReduceSum, reduce, {make_desc(DType::I64, {2, 3})}), "input 0");
    OpAttrs alpha;
    alpha.kind = fb::Attrs::AlphaAttrs;
    alpha.alpha.alpha = INFINITY;
    expect_error(infer(OpType::Elu, alpha, {f32({2})}), "alpha must be finite, got inf");
    alpha.alpha.alpha = std::nanf("");
    expect_error(infer(OpType::LeakyRelu, alpha, {f32({2})}), "alpha must be finite, got nan");
  }
  SUBCASE("slices that leave the input, are empty, step 0, or have the wrong rank (every dim, both directions)") {
    OpAttrs slice;
    slice.kind = fb::Attrs::SliceAttrs;
    slice.slice.rank = 2;
    const TensorDesc x = f32({4, 6});
    const auto set = [&](int d, int64_t start, int64_t step, int64_t size) {
      slice.slice.start[d] = start, slice.slice.step[d] = step, slice.slice.size[d] = size;
    };
    for (int d = 0; d < 2; ++d) {
      CAPTURE(d);
      const int64_t dim = x.dims[d];
      set(0, 0, 1, 4), set(1, 0, 1, 6);
      REQUIRE(infer(OpType::Slice, slice, {x}).is_ok());
      // (start, step, size) past either end, each rejected naming the dim
      const int64_t bad[][3] = {{0, 1, dim + 1}, {1, 1, dim}, {-1, 1, 1}, {dim, 1, 1}, {0, -1, 2}, {dim - 1, -2, dim},
                                {0, INT64_MAX, 2}, {dim - 1, INT64_MIN, 2}, {0, 0, 1}, {0, 1, 0}};
      for (const auto& b : bad) {
        CAPTURE(b[0]);
        CAPTURE(b[1]);
        CAPTURE(b[2]);
        set(d, b[0], b[1], b[2]);
        expect_error(infer(OpType::Slice, slice, {x}), ("dim " + std::to_string(d)).c_str());
      }
    }
    expect_error(infer(OpType::Slice, slice, {f32({4, 6, 2})}), "the attributes have 2 dims, the input has rank 3");
    set(0, 0, 1, -1), set(1, 0, 1, 6);  // -1: the whole dim, then only from 0 in steps of 1
    REQUIRE(infer(OpType::Slice, slice, {x}).is_ok());
    set(0, 1, 1, -1);
    expect_error(infer(OpType::Slice, slice, {x}), "dim 0: size -1 (the whole dim) needs start 0 and step 1, got 1 and 1");
    set(0, 0, -1, -1);
    expect_error(infer(OpType::Slice, slice, {x}), "got 0 and -1");
  }
  SUBCASE("conv stride 0") {
    conv.conv.stride_h = 0;
    expect_error(infer(OpType::Conv2D, conv, {f32({1, 5, 5, 2}), f32({3, 3, 3, 2})}), "stride_h must be >= 1, got 0");
  }
  SUBCASE("conv dilation 0") {
    conv.conv.dilation_w = 0;
    expect_error(infer(OpType::Conv2D, conv, {f32({1, 5, 5, 2}), f32({3, 3, 3, 2})}), "dilation_w must be >= 1");
  }
  SUBCASE("conv groups 0") {
    conv.conv.groups = 0;
    expect_error(infer(OpType::Conv2D, conv, {f32({1, 5, 5, 2}), f32({3, 3, 3, 2})}), "groups must be >= 1, got 0");
  }
  SUBCASE("conv groups that do not divide the channels") {
    conv.conv.groups = 3;
    expect_error(infer(OpType::Conv2D, conv, {f32({1, 5, 5, 4}), f32({3, 3, 3, 1})}), "groups 3 must divide");
  }
  SUBCASE("conv weight channels") {
    expect_error(infer(OpType::Conv2D, conv, {f32({1, 5, 5, 2}), f32({3, 3, 3, 4})}), "I = channels / groups = 2");
  }
  SUBCASE("conv kernel larger than the padded input") {
    expect_error(infer(OpType::Conv2D, conv, {f32({1, 2, 2, 1}), f32({1, 3, 3, 1})}), "does not fit");
  }
  SUBCASE("conv negative padding") {
    conv.conv.pad_left = -1;
    expect_error(infer(OpType::Conv2D, conv, {f32({1, 5, 5, 1}), f32({1, 3, 3, 1})}), "padding along w must be >= 0");
  }
  SUBCASE("conv bias of the wrong size") {
    expect_error(infer(OpType::Conv2D, conv, {f32({1, 5, 5, 1}), f32({2, 3, 3, 1}), f32({3})}), "bias must be [2]");
  }
  SUBCASE("conv input of rank 3") {
    expect_error(infer(OpType::Conv2D, conv, {f32({5, 5, 1}), f32({2, 3, 3, 1})}), "input 0: expected rank 4, got rank 3");
  }
  SUBCASE("pool padding as large as the kernel") {
    OpAttrs pool;
    pool.kind = fb::Attrs::Pool2dAttrs;
    pool.pool.kernel_h = pool.pool.kernel_w = 2;
    pool.pool.pad_top = 2;
    expect_error(infer(OpType::MaxPool2D, pool, {f32({1, 4, 4, 1})}), "padding along h must be in [0, kernel_h = 2)");
  }
  SUBCASE("pool kernel 0") {
    OpAttrs pool;
    pool.kind = fb::Attrs::Pool2dAttrs;
    expect_error(infer(OpType::AvgPool2D, pool, {f32({1, 4, 4, 1})}), "kernel_h must be >= 1, got 0");
  }
  SUBCASE("linear weight that does not match the input") {
    expect_error(infer(OpType::Linear, OpAttrs(), {f32({2, 5}), f32({3, 4})}), "input's last dim is 5");
  }
  SUBCASE("linear with an i64 input") {
    expect_error(infer(OpType::Linear, OpAttrs(), {make_desc(DType::I64, {2, 4}), f32({3, 4})}),
                 "input 0: expected dtype f32, got i64");
  }
  SUBCASE("matmul inner dims") {
    expect_error(infer(OpType::MatMul, OpAttrs(), {f32({2, 3}), f32({4, 5})}), "inner dims differ: A has K=3, B has K=4");
  }
  SUBCASE("binary shapes that do not broadcast") {
    expect_error(infer(OpType::Add, OpAttrs(), {f32({2, 3}), f32({4})}), "do not broadcast");
  }
  SUBCASE("clamp min above max") {
    OpAttrs clamp;
    clamp.clamp.min = 2.0f;
    clamp.clamp.max = 1.0f;
    expect_error(infer(OpType::Clamp, clamp, {f32({3})}), "min <= max");
  }
  SUBCASE("clamp NaN bound") {
    OpAttrs clamp;
    clamp.clamp.min = std::nanf("");
    clamp.clamp.max = 1.0f;
    expect_error(infer(OpType::Clamp, clamp, {f32({3})}), "min <= max");
  }
  SUBCASE("reshape element count") {
    OpAttrs reshape;
    reshape.reshape.rank = 2;
    reshape.reshape.shape[0] = 5;
    reshape.reshape.shape[1] = 5;
    expect_error(infer(OpType::Reshape, reshape, {f32({2, 12})}), "cannot reshape f32[2,12] (24 elements) to f32[5,5]");
  }
  SUBCASE("reshape with two -1") {
    OpAttrs reshape;
    reshape.reshape.rank = 2;
    reshape.reshape.shape[0] = -1;
    reshape.reshape.shape[1] = -1;
    expect_error(infer(OpType::Reshape, reshape, {f32({2, 12})}), "more than one -1");
  }
  SUBCASE("reshape with a negative dim") {
    OpAttrs reshape;
    reshape.reshape.rank = 1;
    reshape.reshape.shape[0] = -3;
    expect_error(infer(OpType::Reshape, reshape, {f32({3})}), "shape[0] = -3 is negative");
  }
  SUBCASE("transpose perm that repeats an axis") {
    OpAttrs transpose;
    transpose.transpose.rank = 2;
    transpose.transpose.perm[0] = 0;
    transpose.transpose.perm[1] = 0;
    expect_error(infer(OpType::Transpose, transpose, {f32({2, 3})}), "perm[1] = 0: perm must be a permutation");
  }
  SUBCASE("concat dims differ off the axis") {
    OpAttrs concat;
    concat.axis.axis = 0;
    expect_error(infer(OpType::Concat, concat, {f32({2, 3}), f32({2, 4})}), "input 1: dim 1 is 4");
  }
  SUBCASE("softmax axis out of range") {
    OpAttrs softmax;
    softmax.axis.axis = 5;
    expect_error(infer(OpType::Softmax, softmax, {f32({2, 3})}), "axis 5 is out of range for rank 2");
  }
  SUBCASE("flatten axis out of range") {
    OpAttrs flatten;
    flatten.axis.axis = 4;
    expect_error(infer(OpType::Flatten, flatten, {f32({2, 3})}), "axis 4 is out of range");
  }
  SUBCASE("dropout ratio 1") {
    OpAttrs dropout;
    dropout.dropout.ratio = 1.0f;
    expect_error(infer(OpType::Dropout, dropout, {f32({2, 3})}), "ratio must be in [0, 1)");
  }
  SUBCASE("batch norm statistics of the wrong size") {
    OpAttrs norm;
    expect_error(infer(OpType::BatchNorm, norm, {f32({2, 3}), f32({3}), f32({3}), f32({2}), f32({3})}),
                 "input 3: must be [3]");
  }
  SUBCASE("layer norm gamma of the wrong shape") {
    OpAttrs norm;
    expect_error(infer(OpType::LayerNorm, norm, {f32({2, 3}), f32({2})}), "normalized shape");
  }
  SUBCASE("cross-entropy with float labels") {
    expect_error(infer(OpType::SoftmaxCrossEntropy, OpAttrs(), {f32({2, 3}), f32({2})}), "labels must be i64 or i32");
  }
  SUBCASE("cross-entropy with one label per row missing") {
    expect_error(infer(OpType::SoftmaxCrossEntropy, OpAttrs(), {f32({2, 3}), make_desc(DType::I64, {3})}),
                 "one per row");
  }
  SUBCASE("mse shapes differ") {
    expect_error(infer(OpType::MseLoss, OpAttrs(), {f32({2, 3}), f32({3, 2})}), "differ in shape");
  }
  SUBCASE("unknown reduction") {
    OpAttrs loss;
    loss.loss.reduction = static_cast<fb::Reduction>(9);
    expect_error(infer(OpType::MseLoss, loss, {f32({2}), f32({2})}), "unknown reduction 9");
  }
}

TEST_CASE("registry: every schema op is registered once with its own name") {
  for (int value = 0; value <= static_cast<int>(fb::OpType::MAX); ++value) {
    const OpDef* op = find_op(static_cast<OpType>(value));
    REQUIRE(op != nullptr);
    CHECK(op->type == static_cast<OpType>(value));
    CHECK(std::string(op->name) == fb::EnumNameOpType(static_cast<OpType>(value)));
    CHECK((op->infer != nullptr));
    CHECK((op->forward != nullptr));
    // Every op is differentiable except the optimizer updates, which write their inputs instead.
    CHECK((op->backward != nullptr) == (op->num_updated_inputs == 0));
    CHECK((op->num_outputs == 0) == (op->num_updated_inputs > 0));
    CHECK(op->min_inputs >= 1);
    CHECK(op->num_updated_inputs <= op->min_inputs);
    CHECK(op->max_inputs <= kMaxNodeInputs);
    CHECK(op->num_outputs <= kMaxNodeOutputs);
  }
  CHECK(find_op(static_cast<OpType>(999)) == nullptr);
}

}  // namespace
}  // namespace preflight
