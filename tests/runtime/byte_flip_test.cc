// Every byte of the mlp model flipped once: each variant loads and runs, or is refused with an
// error. Nothing may crash, hang or read out of bounds (the sanitizer build runs this too).
#include <map>

#include "models/models.h"
#include "test_util.h"

namespace preflight {
namespace {

TEST_CASE("byte flips: every byte of mlp.pfb flipped once is run or refused, never a crash") {
  Result<graph::Graph> g = models::build_model("mlp", 1, 0);
  REQUIRE(g.is_ok());
  // Inline weights, so that flips land in the FlatBuffer itself as well as in the weights.
  graph::SerializeOptions options;
  options.inline_limit = 1 << 20;
  const Bytes original = graph::serialize(*g, options);
  float input[64], output[10];
  for (int i = 0; i < 64; ++i) input[i] = 0.01f * static_cast<float>(i);
  Bytes variant = original;
  size_t loaded = 0, refused = 0, ran = 0, unverified = 0;
  std::map<std::string, int> places;
  // Under qemu-user every third byte (49 s there for all of them); natively every byte.
  const size_t stride = test::kEmulated ? 3 : 1;
  size_t variants = 0;
  for (size_t at = 0; at < original.size(); at += stride, ++variants) {
    variant[at] = static_cast<uint8_t>(~original[at]);
    Result<Model> model = Model::load_bytes(variant.data(), variant.size());
    if (!model.is_ok()) {
      ++refused;
      const std::string message = model.status().message();
      CHECK(!message.empty());
      // A refusal by the FlatBuffers Verifier names where it failed (a table, a vector, an element).
      if (message.find("FlatBuffers verification failed") != std::string::npos) {
        ++unverified;
        places[message.substr(0, message.find_first_of("[("))] += 1;
        CHECK_MESSAGE(message.find("FlatBuffers verification failed at ") == 0, message);
        CHECK_MESSAGE(message.find("some table") == std::string::npos, message);
      }
    } else {
      ++loaded;
      // A flip may leave a valid model with another shape: run whatever signature it has.
      Result<Session> session = Session::open(std::move(model).value());
      if (session.is_ok()) {
        const MethodInfo& method = session->model().methods()[0];
        if (method.inputs.size() == 1 && method.outputs.size() == 1) {
          const TensorDesc& in = session->model().tensors()[static_cast<size_t>(method.inputs[0])].desc;
          const TensorDesc& out = session->model().tensors()[static_cast<size_t>(method.outputs[0])].desc;
          if (in == make_desc(DType::F32, {1, 64}) && out == make_desc(DType::F32, {1, 10})) {
            TensorView x{in, input}, y{out, output};
            if (session->run(method.name, &x, 1, &y, 1).is_ok()) ++ran;
          }
        }
      }
    }
    variant[at] = original[at];
  }
  MESSAGE("mlp.pfb: " << variants << " variants, " << loaded << " loaded, " << ran << " ran, " << refused
                      << " refused");
  for (const auto& place : places) MESSAGE(place.second << " x " << place.first);
  CHECK(unverified > 0);
  CHECK(loaded + refused == variants);
  CHECK(refused > 0);  // flips in the structure are caught
  CHECK(ran > 0);      // flips in the weights still run
}

}  // namespace
}  // namespace preflight
