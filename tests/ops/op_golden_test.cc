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
      std::vector<NpyArray> inputs, expected;
      for (const auto& file : c["inputs"]) inputs.push_back(test::load_fixture("tests/fixtures/ops/" + file.get<std::string>()));
      std::vector<std::string> output_files = {c["output"].get<std::string>()};
      if (c.contains("extra_outputs")) {
        for (const auto& file : c["extra_outputs"]) output_files.push_back(file.get<std::string>());
      }
      for (const std::string& file : output_files) expected.push_back(test::load_fixture("tests/fixtures/ops/" + file));

      json model = {{"schema_version", kSchemaVersion}, {"tensors", json::array()}};
      json input_ids = json::array(), output_ids = json::array();
      for (size_t i = 0; i < inputs.size(); ++i) {
        model["tensors"].push_back(tensor_json("in" + std::to_string(i), inputs[i].desc, "Input"));
        input_ids.push_back(i);
      }
      for (size_t o = 0; o < expected.size(); ++o) {
        model["tensors"].push_back(tensor_json("out" + std::to_string(o), expected[o].desc, "Output"));
        output_ids.push_back(inputs.size() + o);
      }
      json node = {{"name", name}, {"op", c["op"]}, {"inputs", input_ids}, {"outputs", output_ids}};
      if (c.contains("attrs_type")) {
        node["attrs_type"] = c["attrs_type"];
        node["attrs"] = c["attrs"];
      }
      model["nodes"] = {node};
      model["methods"] = {{{"name", "infer"}, {"inputs", input_ids}, {"outputs", output_ids}, {"nodes", {0}}}};

      Result<Bytes> bytes = graph::model_from_json(model.dump());
      REQUIRE_MESSAGE(bytes.is_ok(), std::string(bytes.status().message()));
      Result<Model> loaded = Model::load_bytes(bytes->data(), bytes->size());
      REQUIRE_MESSAGE(loaded.is_ok(), std::string(loaded.status().message()));
      const NodeInfo& info = loaded->nodes()[0];

      // Direct kernel call, with guard bytes on both sides of every output.
      std::vector<TensorView> in_views, out_views;
      for (NpyArray& input : inputs) in_views.push_back(TensorView{input.desc, input.data.data()});
      std::vector<std::vector<uint8_t>> guarded;
      for (const NpyArray& want : expected) {
        guarded.emplace_back(want.desc.num_bytes() + 2 * kGuardBytes, kGuardValue);
        out_views.push_back(TensorView{want.desc, guarded.back().data() + kGuardBytes});
      }
      const Status status = info.op->forward(info.attrs, in_views.data(), static_cast<int>(in_views.size()), out_views.data());
      REQUIRE_MESSAGE(status.is_ok(), std::string(status.message()));
      std::vector<std::vector<float>> direct;
      for (size_t o = 0; o < expected.size(); ++o) {
        const size_t out_bytes = expected[o].desc.num_bytes();
        for (size_t i = 0; i < kGuardBytes; ++i) {
          REQUIRE_MESSAGE(guarded[o][i] == kGuardValue, name << ": wrote before output " << o << ", byte -" << (kGuardBytes - i));
          REQUIRE_MESSAGE(guarded[o][kGuardBytes + out_bytes + i] == kGuardValue,
                          name << ": wrote past output " << o << ", byte +" << i);
        }
        direct.emplace_back(static_cast<size_t>(expected[o].desc.num_elements()));
        if (out_bytes) std::memcpy(direct.back().data(), out_views[o].data, out_bytes);
        test::check_close(direct.back().data(), reinterpret_cast<const float*>(expected[o].data.data()),
                          expected[o].desc.num_elements(), kRelativeTolerance, kAbsoluteTolerance,
                          name + " output " + std::to_string(o));
      }

      // The same node through a Session: bit-identical to the direct call.
      Result<Session> session = Session::open(std::move(loaded).value());
      REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
      const auto results = test::run_method(*session, "infer", in_views);
      for (size_t o = 0; o < expected.size(); ++o) CHECK(results[o] == direct[o]);
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
