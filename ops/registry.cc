#include "ops/registry.h"
#include "runtime/flatbuffers_read.h"

#include "ops/selected_ops.h"

namespace preflight {

// Each op file defines one of these (one op, one place).
const OpDef& linear_op();
const OpDef& matmul_op();
const OpDef& conv2d_op();
const OpDef& max_pool2d_op();
const OpDef& avg_pool2d_op();
const OpDef& global_avg_pool_op();
const OpDef& relu_op();
const OpDef& clamp_op();
const OpDef& sigmoid_op();
const OpDef& tanh_op();
const OpDef& gelu_op();
const OpDef& add_op();
const OpDef& sub_op();
const OpDef& mul_op();
const OpDef& div_op();
const OpDef& reshape_op();
const OpDef& flatten_op();
const OpDef& transpose_op();
const OpDef& concat_op();
const OpDef& softmax_op();
const OpDef& log_softmax_op();
const OpDef& batch_norm_op();
const OpDef& layer_norm_op();
const OpDef& dropout_op();
const OpDef& softmax_cross_entropy_op();
const OpDef& mse_loss_op();
const OpDef& sgd_update_op();
const OpDef& adam_update_op();
const OpDef& batch_norm_train_op();
const OpDef& running_stats_update_op();
const OpDef& squared_norm_op();
const OpDef& clip_scale_op();

// Every OpDef keeps within the arity bounds of op.h (tests/ops/op_checks_test.cc checks it).
// A selective build (CMake PREFLIGHT_OPS, the list `preflight ops-for MODEL` prints) sets
// PREFLIGHT_OP_<Name> to 0 for the ops it leaves out: find_op returns null for them, nothing
// references their kernels, and the linker drops them (--gc-sections). Models that use them are
// refused at load, naming the op.
const OpDef* find_op(OpType type) {
  switch (type) {
    case OpType::Linear: return PREFLIGHT_OP_Linear ? &linear_op() : nullptr;
    case OpType::MatMul: return PREFLIGHT_OP_MatMul ? &matmul_op() : nullptr;
    case OpType::Conv2D: return PREFLIGHT_OP_Conv2D ? &conv2d_op() : nullptr;
    case OpType::MaxPool2D: return PREFLIGHT_OP_MaxPool2D ? &max_pool2d_op() : nullptr;
    case OpType::AvgPool2D: return PREFLIGHT_OP_AvgPool2D ? &avg_pool2d_op() : nullptr;
    case OpType::GlobalAvgPool: return PREFLIGHT_OP_GlobalAvgPool ? &global_avg_pool_op() : nullptr;
    case OpType::Relu: return PREFLIGHT_OP_Relu ? &relu_op() : nullptr;
    case OpType::Clamp: return PREFLIGHT_OP_Clamp ? &clamp_op() : nullptr;
    case OpType::Sigmoid: return PREFLIGHT_OP_Sigmoid ? &sigmoid_op() : nullptr;
    case OpType::Tanh: return PREFLIGHT_OP_Tanh ? &tanh_op() : nullptr;
    case OpType::Gelu: return PREFLIGHT_OP_Gelu ? &gelu_op() : nullptr;
    case OpType::Add: return PREFLIGHT_OP_Add ? &add_op() : nullptr;
    case OpType::Sub: return PREFLIGHT_OP_Sub ? &sub_op() : nullptr;
    case OpType::Mul: return PREFLIGHT_OP_Mul ? &mul_op() : nullptr;
    case OpType::Div: return PREFLIGHT_OP_Div ? &div_op() : nullptr;
    case OpType::Reshape: return PREFLIGHT_OP_Reshape ? &reshape_op() : nullptr;
    case OpType::Flatten: return PREFLIGHT_OP_Flatten ? &flatten_op() : nullptr;
    case OpType::Transpose: return PREFLIGHT_OP_Transpose ? &transpose_op() : nullptr;
    case OpType::Concat: return PREFLIGHT_OP_Concat ? &concat_op() : nullptr;
    case OpType::Softmax: return PREFLIGHT_OP_Softmax ? &softmax_op() : nullptr;
    case OpType::LogSoftmax: return PREFLIGHT_OP_LogSoftmax ? &log_softmax_op() : nullptr;
    case OpType::BatchNorm: return PREFLIGHT_OP_BatchNorm ? &batch_norm_op() : nullptr;
    case OpType::LayerNorm: return PREFLIGHT_OP_LayerNorm ? &layer_norm_op() : nullptr;
    case OpType::Dropout: return PREFLIGHT_OP_Dropout ? &dropout_op() : nullptr;
    case OpType::SoftmaxCrossEntropy: return PREFLIGHT_OP_SoftmaxCrossEntropy ? &softmax_cross_entropy_op() : nullptr;
    case OpType::MseLoss: return PREFLIGHT_OP_MseLoss ? &mse_loss_op() : nullptr;
    case OpType::SgdUpdate: return PREFLIGHT_OP_SgdUpdate ? &sgd_update_op() : nullptr;
    case OpType::AdamUpdate: return PREFLIGHT_OP_AdamUpdate ? &adam_update_op() : nullptr;
    case OpType::BatchNormTrain: return PREFLIGHT_OP_BatchNormTrain ? &batch_norm_train_op() : nullptr;
    case OpType::RunningStatsUpdate: return PREFLIGHT_OP_RunningStatsUpdate ? &running_stats_update_op() : nullptr;
    case OpType::SquaredNorm: return PREFLIGHT_OP_SquaredNorm ? &squared_norm_op() : nullptr;
    case OpType::ClipScale: return PREFLIGHT_OP_ClipScale ? &clip_scale_op() : nullptr;
  }
  return nullptr;
}

namespace {

void read_conv(const fb::Conv2dAttrs& t, Conv2dAttrs* a) {
  a->stride_h = t.stride_h();
  a->stride_w = t.stride_w();
  a->pad_top = t.pad_top();
  a->pad_left = t.pad_left();
  a->pad_bottom = t.pad_bottom();
  a->pad_right = t.pad_right();
  a->dilation_h = t.dilation_h();
  a->dilation_w = t.dilation_w();
  a->groups = t.groups();
}

void read_pool(const fb::Pool2dAttrs& t, Pool2dAttrs* a) {
  a->kernel_h = t.kernel_h();
  a->kernel_w = t.kernel_w();
  a->stride_h = t.stride_h();
  a->stride_w = t.stride_w();
  a->pad_top = t.pad_top();
  a->pad_left = t.pad_left();
  a->pad_bottom = t.pad_bottom();
  a->pad_right = t.pad_right();
  a->count_include_pad = t.count_include_pad();
}

}  // namespace

Status read_attrs(const OpDef& op, const fb::Node& node, OpAttrs* attrs) {
  *attrs = OpAttrs();
  attrs->kind = op.attrs_kind;
  const fb::Attrs kind = node.attrs_type();
  if (kind == fb::Attrs::NONE || node.attrs() == nullptr) {
    PF_CHECK(!op.attrs_required, Error::kInvalidModel, "%s needs attributes %s, the node has none",
             op.name, fb::EnumNameAttrs(op.attrs_kind));
    return Status::ok();
  }
  PF_CHECK(kind == op.attrs_kind, Error::kInvalidModel, "%s reads attributes %s, the node has %s",
           op.name, fb::EnumNameAttrs(op.attrs_kind),
           fb::EnumNameAttrs(kind)[0] ? fb::EnumNameAttrs(kind) : "an unknown attribute type");
  switch (kind) {
    case fb::Attrs::NONE: break;
    case fb::Attrs::MatMulAttrs: {
      const auto* t = node.attrs_as_MatMulAttrs();
      attrs->matmul.transpose_a = t->transpose_a();
      attrs->matmul.transpose_b = t->transpose_b();
      break;
    }
    case fb::Attrs::Conv2dAttrs: read_conv(*node.attrs_as_Conv2dAttrs(), &attrs->conv); break;
    case fb::Attrs::Pool2dAttrs: read_pool(*node.attrs_as_Pool2dAttrs(), &attrs->pool); break;
    case fb::Attrs::GlobalPoolAttrs:
      attrs->global_pool.keep_dims = node.attrs_as_GlobalPoolAttrs()->keep_dims();
      break;
    case fb::Attrs::ClampAttrs:
      attrs->clamp.min = node.attrs_as_ClampAttrs()->min();
      attrs->clamp.max = node.attrs_as_ClampAttrs()->max();
      break;
    case fb::Attrs::GeluAttrs:
      attrs->gelu.tanh_approximation = node.attrs_as_GeluAttrs()->tanh_approximation();
      break;
    case fb::Attrs::AxisAttrs: attrs->axis.axis = node.attrs_as_AxisAttrs()->axis(); break;
    case fb::Attrs::ReshapeAttrs: {
      const auto* shape = node.attrs_as_ReshapeAttrs()->shape();
      PF_CHECK(shape != nullptr, Error::kInvalidModel, "Reshape attributes have no shape");
      PF_CHECK(shape->size() <= static_cast<uint32_t>(kMaxRank), Error::kInvalidModel,
               "Reshape target rank %u is above the limit %d", shape->size(), kMaxRank);
      attrs->reshape.rank = static_cast<int>(shape->size());
      for (int i = 0; i < attrs->reshape.rank; ++i) attrs->reshape.shape[i] = read_unaligned(*shape, static_cast<flatbuffers::uoffset_t>(i));
      break;
    }
    case fb::Attrs::TransposeAttrs: {
      const auto* perm = node.attrs_as_TransposeAttrs()->perm();
      PF_CHECK(perm != nullptr, Error::kInvalidModel, "Transpose attributes have no perm");
      PF_CHECK(perm->size() <= static_cast<uint32_t>(kMaxRank), Error::kInvalidModel,
               "Transpose perm length %u is above the limit %d", perm->size(), kMaxRank);
      attrs->transpose.rank = static_cast<int>(perm->size());
      for (int i = 0; i < attrs->transpose.rank; ++i) attrs->transpose.perm[i] = perm->Get(i);
      break;
    }
    case fb::Attrs::NormAttrs:
      attrs->norm.axis = node.attrs_as_NormAttrs()->axis();
      attrs->norm.epsilon = node.attrs_as_NormAttrs()->epsilon();
      break;
    case fb::Attrs::DropoutAttrs:
      attrs->dropout.ratio = node.attrs_as_DropoutAttrs()->ratio();
      attrs->dropout.training = node.attrs_as_DropoutAttrs()->training();
      attrs->dropout.stream = node.attrs_as_DropoutAttrs()->stream();
      break;
    case fb::Attrs::RunningStatsAttrs:
      attrs->running_stats.momentum = node.attrs_as_RunningStatsAttrs()->momentum();
      break;
    case fb::Attrs::LossAttrs: attrs->loss.reduction = node.attrs_as_LossAttrs()->reduction(); break;
    case fb::Attrs::SgdAttrs: attrs->sgd.nesterov = node.attrs_as_SgdAttrs()->nesterov(); break;
    case fb::Attrs::AdamAttrs:
      attrs->adam.decoupled_weight_decay = node.attrs_as_AdamAttrs()->decoupled_weight_decay();
      break;
  }
  return Status::ok();
}

}  // namespace preflight
