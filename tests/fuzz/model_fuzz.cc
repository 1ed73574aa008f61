// Fuzz target 1: model bytes -> verify -> prepare every method (Session::open) -> run each method
// on zero inputs. A model the loader accepts must open and run (or fail with a Status), never
// crash, hang or read out of bounds (built with ASan and UBSan). docs/reliability.md.
#include "runtime/session.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace preflight;
  fuzz::AlignedBytes bytes(data, size);
  Result<Model> model = Model::load_bytes(bytes.data(), bytes.size(), fuzz::limits());
  if (!model.is_ok()) return 0;
  Result<Session> session = Session::open(std::move(model).value());
  if (!session.is_ok()) return 0;
  fuzz::run_every_method(*session);
  return 0;
}
