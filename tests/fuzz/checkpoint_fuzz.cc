// Fuzz target 2: checkpoint bytes -> load against a fixed model (the mlp with Adam's train_step).
// The harness rewrites the input's trailing CRC-32 so that mutations get past the checksum and
// reach the verifier and the model matching; a checkpoint the loader accepts must then have
// written every trained tensor exactly once (docs/reliability.md).
//
// PREFLIGHT_FUZZ_WRITE_SEED=PATH: writes a valid checkpoint of the fixed model to PATH and exits
// (tests/fuzz/run.sh makes the seed corpus with it).
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "models/models.h"
#include "graph/serialize.h"
#include "graph/training.h"
#include "tests/fuzz/fuzz_util.h"
#include "trainer/checkpoint.h"

namespace {

using namespace preflight;

struct Fixed {
  Bytes bytes;
  std::unique_ptr<Session> session;
};

Fixed& fixed() {
  static Fixed* made = [] {
    auto* f = new Fixed();
    Result<graph::Graph> g = models::build_model("mlp", 4, 1);
    if (!g.is_ok() || !graph::add_training_methods(&*g, graph::TrainingOptions()).is_ok()) std::abort();
    f->bytes = graph::serialize(*g);
    Result<Model> model = Model::load_bytes(f->bytes.data(), f->bytes.size());
    if (!model.is_ok()) std::abort();
    Result<Session> session = Session::open(std::move(model).value());
    if (!session.is_ok()) std::abort();
    f->session.reset(new Session(std::move(session).value()));
    return f;
  }();
  return *made;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seed = std::getenv("PREFLIGHT_FUZZ_WRITE_SEED")) {
    CheckpointState state;
    state.step = 12;
    const Status status = save_checkpoint(seed, *fixed().session, state);
    std::fprintf(stderr, "%s: %s\n", seed, status.message());
    std::exit(status.is_ok() ? 0 : 1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (size >= 16) {
    const uint32_t sum = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(size - 4)));
    for (int i = 0; i < 4; ++i) bytes[size - 4 + static_cast<size_t>(i)] = static_cast<uint8_t>(sum >> (8 * i));
  }
  Session& session = *fixed().session;
  Result<CheckpointState> loaded = load_checkpoint_bytes(bytes.data(), bytes.size(), "fuzz.pfc", &session);
  (void)loaded;
  return 0;
}
