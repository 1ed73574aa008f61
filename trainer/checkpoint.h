// Training checkpoints (schemas/checkpoint.fbs): every tensor training updates (parameters and
// optimizer state) and the run's position (step, epoch, batch, seed, best validation loss).
// Written crash-safely; loaded only after the checksum, the verifier and the model match.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "runtime/session.h"

namespace preflight {

constexpr uint32_t kCheckpointSchemaVersion = 1;

struct CheckpointState {
  uint64_t step = 0;
  uint32_t epoch = 0;
  uint64_t batch_in_epoch = 0;
  uint64_t seed = 0;
  double best_validation_loss = std::numeric_limits<double>::infinity();
  int32_t best_epoch = -1;
};

// A 64-bit FNV-1a hash of the model's persistent tensors (name, role, dtype, shape), in order.
uint64_t model_fingerprint(const Model& model);

// Fails when a tensor training writes holds NaN or Inf, naming the first such tensor, how many
// values and the first one: weights like that are never saved (`what` says what was refused).
Status check_trained_finite(const Session& session, const char* what);

// Writes the checkpoint of `session`'s writable tensors to `path` (temporary file, fsync, rename).
// Refused (check_trained_finite) when a tensor holds NaN or Inf.
Status save_checkpoint(const std::string& path, const Session& session, const CheckpointState& state);

// Verifies `path` against `session`'s model and copies its tensors into the session. Nothing is
// written into the session unless the whole file checks out.
Result<CheckpointState> load_checkpoint(const std::string& path, Session* session);
// The same on `size` bytes at `data` (a file's contents); `where` names them in messages.
Result<CheckpointState> load_checkpoint_bytes(const uint8_t* data, size_t size, const char* where, Session* session);

}  // namespace preflight
