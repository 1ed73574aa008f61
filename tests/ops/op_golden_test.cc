// Every op's reference forward against PyTorch goldens (tests/fixtures/make_op_goldens.py):
// each case becomes a one-node model through the JSON view, is verified like any file, and its
// kernel runs with guard bytes around the output; the Session result must equal the direct call.
#include <fstream>
#include <nlohmann/json.hpp>

#include "graph/json.h"
#include "ops/registry.h"
#include "test_util.h"

namespace preflight {
namespace {

using nlohmann::json;

constexpr double kRelativeTolerance = 1e-5;
constexpr double kAbsoluteTolerance = 1e-6;  // for values near zero, where relative error is meaningless
constexpr size_t kGuardBytes = 64;
constexpr uint8_t kGuardValue = 0xA5;

json load_manifest() {
  std::ifstream file(test::source_path("tests/fixtures/ops/manifest.json"));
  REQUIRE(file.good());
  return json::parse(file);
}

json tensor_json(const std::string& name, const TensorDesc& desc, const char* role) {
  json shape = json::array();
  for (int d = 0; d < desc.rank; ++d) shape.push_back(desc.dims[d]);
  return {{"name", name}, {"dtype", fb::EnumNameDType(desc.dtype)}, {"shape", shape}, {"role", role}};
}

TEST_CASE("op goldens: reference forward matches PyTorch") {
  const json manifest = load_manifest();
  REQUIRE(manifest["cases"].size() >= 60);
  for (const json& c : manifest["cases"]) {
    const std::string name = c["name"];
    SUBCASE(name.c_str()) {
      std::vector<NpyArray> inputs;
      for (const auto& file : c["inputs"]) inputs.push_back(test::load_fixture("tests/fixtures/ops/" + file.get<std::string>()));
      const NpyArray expected = test::load_fixture("tests/fixtures/ops/" + c["output"].get<std::string>());

      json model = {{"schema_version", kSchemaVersion}, {"tensors", json::array()}};
      json input_ids = json::array();
      for (size_t i = 0; i < inputs.size(); ++i) {
        model["tensors"].push_back(tensor_json("in" + std::to_string(i), inputs[i].desc, "Input"));
        input_ids.push_back(i);
      }
      model["tensors"].push_back(tensor_json("out", expected.desc, "Output"));
      json node = {{"name", name}, {"op", c["op"]}, {"inputs", input_ids}, {"outputs", {inputs.size()}}};
      if (c.contains("attrs_type")) {
        node["attrs_type"] = c["attrs_type"];
        node["attrs"] = c["attrs"];
      }
      model["nodes"] = {node};
      model["methods"] = {{{"name", "infer"}, {"inputs", input_ids}, {"outputs", {inputs.size()}}, {"nodes", {0}}}};

      Result<Bytes> bytes = graph::model_from_json(model.dump());
      REQUIRE_MESSAGE(bytes.is_ok(), std::string(bytes.status().message()));
      Result<Model> loaded = Model::load_bytes(bytes->data(), bytes->size());
      REQUIRE_MESSAGE(loaded.is_ok(), std::string(loaded.status().message()));
      const NodeInfo& info = loaded->nodes()[0];

      // Direct kernel call, with guard bytes on both sides of the output.
      std::vector<TensorView> in_views;
      for (NpyArray& input : inputs) in_views.push_back(TensorView{input.desc, input.data.data()});
      const size_t out_bytes = expected.desc.num_bytes();
      std::vector<uint8_t> guarded(out_bytes + 2 * kGuardBytes, kGuardValue);
      TensorView out_view{expected.desc, guarded.data() + kGuardBytes};
      const Status status = info.op->forward(info.attrs, in_views.data(), static_cast<int>(in_views.size()), &out_view);
      REQUIRE_MESSAGE(status.is_ok(), std::string(status.message()));
      for (size_t i = 0; i < kGuardBytes; ++i) {
        REQUIRE_MESSAGE(guarded[i] == kGuardValue, name << ": wrote before the output, byte -" << (kGuardBytes - i));
        REQUIRE_MESSAGE(guarded[kGuardBytes + out_bytes + i] == kGuardValue, name << ": wrote past the output, byte +" << i);
      }
      std::vector<float> direct(static_cast<size_t>(expected.desc.num_elements()));
      std::memcpy(direct.data(), out_view.data, out_bytes);
      test::check_close(direct.data(), reinterpret_cast<const float*>(expected.data.data()),
                        expected.desc.num_elements(), kRelativeTolerance, kAbsoluteTolerance, name);

      // The same node through a Session: bit-identical to the direct call.
      Result<Session> session = Session::open(std::move(loaded).value());
      REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
      const auto results = test::run_method(*session, "infer", in_views);
      CHECK(std::memcmp(results[0].data(), direct.data(), out_bytes) == 0);
    }
  }
}

TEST_CASE("op goldens: every op of the registry has a golden case") {
  const json manifest = load_manifest();
  for (int value = 0; value <= static_cast<int>(fb::OpType::MAX); ++value) {
    const OpDef* op = find_op(static_cast<OpType>(value));
    REQUIRE(op != nullptr);
    if (op->num_updated_inputs > 0) continue;  // optimizer updates: tests/graph/training_test.cc, PyTorch parity
    int cases = 0;
    for (const json& c : manifest["cases"]) cases += c["op"] == op->name;
    CHECK_MESSAGE(cases >= 1, op->name << " has no golden case");
  }
}

}  // namespace
}  // namespace preflight
