#include "trainer/checkpoint.h"
#include "core/flatbuffers_read.h"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "graph/serialize.h"
#include "runtime/file_io.h"
#include "core/hash.h"
#include "schemas/checkpoint_generated.h"

namespace preflight {
namespace {

uint32_t crc(const uint8_t* data, size_t size) {
  uLong value = crc32(0L, Z_NULL, 0);
  while (size > 0) {  // zlib takes at most uInt bytes a call
    const uInt chunk = size > (1u << 30) ? (1u << 30) : static_cast<uInt>(size);
    value = crc32(value, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(value);
}

}  // namespace

uint64_t model_fingerprint(const Model& model) {
  uint64_t hash = kFnvOffsetBasis;
  for (const TensorInfo& tensor : model.tensors()) {
    if (tensor.role != fb::TensorRole::Parameter && tensor.role != fb::TensorRole::Constant &&
        tensor.role != fb::TensorRole::OptimizerState && tensor.role != fb::TensorRole::Buffer) {
      continue;
    }
    hash = fnv1a(tensor.name, std::strlen(tensor.name) + 1, hash);
    const uint8_t role = static_cast<uint8_t>(tensor.role), dtype = static_cast<uint8_t>(tensor.desc.dtype);
    hash = fnv1a(&role, 1, hash);
    hash = fnv1a(&dtype, 1, hash);
    hash = fnv1a(&tensor.desc.rank, sizeof tensor.desc.rank, hash);
    hash = fnv1a(tensor.desc.dims, sizeof(int64_t) * static_cast<size_t>(tensor.desc.rank), hash);
  }
  return hash;
}

Status check_trained_finite(const Session& session, const char* what) {
  PF_RETURN_IF_ERROR(session.sync_to_host());
  const Model& model = session.model();
  for (size_t t = 0; t < model.tensors().size(); ++t) {
    const TensorInfo& info = model.tensors()[t];
    if (!session.is_writable(static_cast<int>(t)) || info.desc.dtype != DType::F32) continue;
    const auto* values = static_cast<const float*>(session.persistent_data(static_cast<int>(t)));
    const int64_t count = info.desc.num_elements();
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < count; ++i) {
      if (std::isfinite(values[i])) continue;
      if (first < 0) first = i;
      ++bad;
    }
    PF_CHECK(bad == 0, Error::kInvalidArgument,
             "refusing to write %s: tensor '%s' holds %lld NaN or Inf values (first: element %lld = %g); the training "
             "diverged (lower the learning rate, clip the gradients)",
             what, info.name, static_cast<long long>(bad), static_cast<long long>(first), static_cast<double>(values[first]));
  }
  return Status::ok();
}

Status save_checkpoint(const std::string& path, const Session& session, const CheckpointState& state) {
  const Model& model = session.model();
  PF_RETURN_IF_ERROR(check_trained_finite(session, ("the checkpoint " + path).c_str()));
  flatbuffers::FlatBufferBuilder b(1 << 16);
  std::vector<flatbuffers::Offset<fb::CheckpointTensor>> tensors;
  PF_RETURN_IF_ERROR(session.sync_to_host());  // a device session: the weights as the device has them
  for (size_t t = 0; t < model.tensors().size(); ++t) {
    if (!session.is_writable(static_cast<int>(t))) continue;
    const void* data = session.persistent_data(static_cast<int>(t));
    const TensorInfo& info = model.tensors()[t];
    const size_t bytes = info.desc.num_bytes();
    b.ForceVectorAlignment(bytes, 1, 32);
    const auto values = b.CreateVector(static_cast<const uint8_t*>(data), bytes);
    std::vector<int64_t> shape(info.desc.dims, info.desc.dims + info.desc.rank);
    // Each part made in its own statement: the order of a call's arguments is unspecified (g++
    // evaluates them right to left on x86-64, left to right on aarch64), and so would the bytes be.
    const auto name = b.CreateString(info.name);
    const auto dims = b.CreateVector(shape);
    tensors.push_back(fb::CreateCheckpointTensor(b, name, dims, values));
  }
  const auto tensor_vector = b.CreateVector(tensors);
  const auto root = fb::CreateCheckpoint(b, kCheckpointSchemaVersion, model_fingerprint(model), state.step, state.epoch,
                                         state.batch_in_epoch, state.seed, state.best_validation_loss, state.best_epoch,
                                         tensor_vector);
  fb::FinishSizePrefixedCheckpointBuffer(b, root);
  std::vector<uint8_t> file(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  const uint32_t checksum = crc(file.data(), file.size());
  for (int i = 0; i < 4; ++i) file.push_back(static_cast<uint8_t>(checksum >> (8 * i)));
  return write_file_atomic(path.c_str(), file.data(), file.size());
}

Result<CheckpointState> load_checkpoint(const std::string& path, Session* session) {
  Result<Bytes> read = graph::read_file(path);
  if (!read.is_ok()) return read.status();
  return load_checkpoint_bytes(read->data(), read->size(), path.c_str(), session);
}

Result<CheckpointState> load_checkpoint_bytes(const uint8_t* data, size_t size, const char* where, Session* session) {
  PF_CHECK(size >= 16, Error::kInvalidArgument, "%s: not a checkpoint (%zu bytes)", where, size);
  const size_t body = size - 4;
  const uint32_t stored = data[body] | data[body + 1] << 8 | data[body + 2] << 16 | static_cast<uint32_t>(data[body + 3]) << 24;
  PF_CHECK(flatbuffers::BufferHasIdentifier(data, fb::CheckpointIdentifier(), true), Error::kInvalidArgument,
           "%s: not a preflight checkpoint (identifier is not '%s')", where, fb::CheckpointIdentifier());
  PF_CHECK(crc(data, body) == stored, Error::kInvalidArgument,
           "%s: checkpoint is corrupt (checksum mismatch): it was damaged or only partly written", where);
  flatbuffers::Verifier verifier(data, body);
  PF_CHECK(fb::VerifySizePrefixedCheckpointBuffer(verifier), Error::kInvalidArgument,
           "%s: checkpoint fails verification", where);
  const fb::Checkpoint* checkpoint = fb::GetSizePrefixedCheckpoint(data);
  PF_CHECK(checkpoint->schema_version() == kCheckpointSchemaVersion, Error::kInvalidArgument,
           "%s: checkpoint schema version %u is not supported (this build reads %u)", where,
           checkpoint->schema_version(), kCheckpointSchemaVersion);
  const Model& model = session->model();
  PF_CHECK(checkpoint->model_fingerprint() == model_fingerprint(model), Error::kInvalidArgument,
           "%s: checkpoint is from another model (fingerprint %016llx, this model %016llx)", where,
           static_cast<unsigned long long>(checkpoint->model_fingerprint()),
           static_cast<unsigned long long>(model_fingerprint(model)));
  // Match every tensor before writing any.
  std::vector<std::pair<void*, const flatbuffers::Vector<uint8_t>*>> copies;
  size_t expected = 0;
  for (size_t t = 0; t < model.tensors().size(); ++t) expected += session->is_writable(static_cast<int>(t));
  std::vector<uint8_t> matched(model.tensors().size(), 0);
  const uint32_t count = checkpoint->tensors() ? checkpoint->tensors()->size() : 0;
  PF_CHECK(count == expected, Error::kInvalidArgument, "%s: checkpoint holds %u tensors, the session trains %zu", where,
           count, expected);
  for (uint32_t i = 0; i < count; ++i) {
    const fb::CheckpointTensor* tensor = checkpoint->tensors()->Get(i);
    const char* name = tensor->name() ? tensor->name()->c_str() : "";
    int found = -1;
    for (size_t t = 0; t < model.tensors().size() && found < 0; ++t) {
      if (std::strcmp(model.tensors()[t].name, name) == 0) found = static_cast<int>(t);
    }
    PF_CHECK(found >= 0 && session->is_writable(found), Error::kInvalidArgument,
             "%s: tensor '%s' of the checkpoint is not trained by this model", where, name);
    // Each once: a name twice would leave another tensor as it was while the count matches.
    PF_CHECK(!matched[static_cast<size_t>(found)], Error::kInvalidArgument, "%s: tensor '%s' appears twice in the checkpoint",
             where, name);
    matched[static_cast<size_t>(found)] = 1;
    const TensorDesc& desc = model.tensors()[static_cast<size_t>(found)].desc;
    bool same = tensor->shape() && tensor->shape()->size() == static_cast<uint32_t>(desc.rank);
    for (int d = 0; same && d < desc.rank; ++d) same = read_unaligned(*tensor->shape(), static_cast<uint32_t>(d)) == desc.dims[d];
    PF_CHECK(same && tensor->data() && tensor->data()->size() == desc.num_bytes(), Error::kInvalidArgument,
             "%s: tensor '%s' does not have the model's shape", where, name);
    copies.emplace_back(session->writable_data(found), tensor->data());
  }
  for (const auto& copy : copies) {
    if (copy.second->size()) std::memcpy(copy.first, copy.second->data(), copy.second->size());
  }
  CheckpointState state;
  state.step = checkpoint->step();
  state.epoch = checkpoint->epoch();
  state.batch_in_epoch = checkpoint->batch_in_epoch();
  state.seed = checkpoint->seed();
  state.best_validation_loss = checkpoint->best_validation_loss();
  state.best_epoch = checkpoint->best_epoch();
  return Result<CheckpointState>(state);
}

}  // namespace preflight
