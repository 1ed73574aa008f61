// ONNX conformance: the backend node tests (onnx/backend/test/data/node, copied for the ops the
// importer takes by tests/onnx_conformance/select_node_tests.py) through import and run. Each
// case is pass, fail or unsupported (refused by the importer, with its reason); no case may
// fail. The per-case list and the per-op totals land in build/tests/onnx_conformance.md
// (docs/onnx.md carries a copy).
#include <dirent.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "graph/import/onnx_import.h"
#include "graph/serialize.h"
#include "test_util.h"

namespace preflight {
namespace {

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = opendir(path.c_str());
  if (!dir) return names;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool read_proto(const std::string& path, onnx::TensorProto* tensor) {
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return file.good() || file.eof() ? tensor->ParseFromString(bytes) : false;
}

// The float values of a TensorProto; false when it is not float.
bool floats_of(const onnx::TensorProto& tensor, std::vector<float>* values) {
  if (tensor.data_type() != onnx::TensorProto::FLOAT) return false;
  if (!tensor.raw_data().empty()) {
    values->resize(tensor.raw_data().size() / sizeof(float));
    std::memcpy(values->data(), tensor.raw_data().data(), values->size() * sizeof(float));
  } else {
    values->assign(tensor.float_data().begin(), tensor.float_data().end());
  }
  return true;
}

struct Outcome {
  std::string verdict, reason;
};

Outcome run_case(const std::string& dir) {
  Result<Bytes> bytes = graph::read_file(dir + "/model.onnx");
  if (!bytes.is_ok()) return {"fail", bytes.status().message()};
  onnx::ModelProto proto;
  if (!proto.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) return {"fail", "model.onnx does not parse"};
  Result<graph::Graph> graph = graph::import_onnx_bytes(bytes->data(), bytes->size(), dir, "model.onnx");
  if (!graph.is_ok()) {
    const bool refused = graph.status().code() == Error::kUnsupported ||
                         test::contains(graph.status().message(), "is dynamic");
    return {refused ? "unsupported" : "fail", graph.status().message()};
  }
  const graph::Method& infer = graph->methods[static_cast<size_t>(graph->find_method("infer"))];
  std::vector<std::vector<float>> inputs(infer.inputs.size());
  std::vector<TensorView> views;
  for (size_t i = 0; i < infer.inputs.size(); ++i) {
    onnx::TensorProto tensor;
    if (!read_proto(dir + "/test_data_set_0/input_" + std::to_string(i) + ".pb", &tensor)) return {"fail", "input_" + std::to_string(i) + ".pb"};
    if (!floats_of(tensor, &inputs[i])) return {"unsupported", "input " + std::to_string(i) + " has ONNX type " + std::to_string(tensor.data_type())};
    const TensorDesc& desc = graph->tensors[static_cast<size_t>(infer.inputs[i])].desc;
    if (static_cast<int64_t>(inputs[i].size()) != desc.num_elements()) return {"fail", "input " + std::to_string(i) + " size"};
    views.push_back(TensorView{desc, inputs[i].data()});
  }
  Bytes model_bytes = graph::serialize(*graph);
  Result<Model> model = Model::load_bytes(model_bytes.data(), model_bytes.size());
  if (!model.is_ok()) return {"fail", model.status().message()};
  Result<Session> session = Session::open(std::move(model).value());
  if (!session.is_ok()) return {"fail", session.status().message()};
  std::vector<std::vector<float>> results(infer.outputs.size());
  std::vector<TensorView> outputs;
  for (size_t o = 0; o < infer.outputs.size(); ++o) {
    const TensorDesc& desc = graph->tensors[static_cast<size_t>(infer.outputs[o])].desc;
    results[o].resize(static_cast<size_t>(desc.num_elements()));
    outputs.push_back(TensorView{desc, results[o].data()});
  }
  const Status status = session->run("infer", views.data(), static_cast<int>(views.size()), outputs.data(), static_cast<int>(outputs.size()));
  if (!status.is_ok()) return {"fail", status.message()};
  for (size_t o = 0; o < results.size(); ++o) {
    onnx::TensorProto tensor;
    std::vector<float> expected;
    if (!read_proto(dir + "/test_data_set_0/output_" + std::to_string(o) + ".pb", &tensor)) return {"fail", "output_" + std::to_string(o) + ".pb"};
    if (!floats_of(tensor, &expected)) return {"unsupported", "output " + std::to_string(o) + " has ONNX type " + std::to_string(tensor.data_type())};
    if (expected.size() != results[o].size()) {
      return {"fail", "output " + std::to_string(o) + ": " + std::to_string(results[o].size()) + " values, expected " + std::to_string(expected.size())};
    }
    for (size_t k = 0; k < expected.size(); ++k) {
      // The backend tests' tolerance: rtol 1e-3, atol 1e-7 (a little more for float32 sums).
      const double diff = std::fabs(static_cast<double>(results[o][k]) - expected[k]);
      if (!(diff <= 1e-3 * std::fabs(static_cast<double>(expected[k])) + 1e-6)) {
        return {"fail", "output " + std::to_string(o) + " element " + std::to_string(k) + ": " + std::to_string(results[o][k]) +
                            ", expected " + std::to_string(expected[k])};
      }
    }
  }
  return {"pass", ""};
}

TEST_CASE("onnx conformance: every backend node test of an imported op passes or is refused with a reason") {
  const std::string root = test::source_path("tests/fixtures/onnx_node");
  const std::vector<std::string> cases = list_dir(root);
  REQUIRE(cases.size() >= 200);
  std::map<std::string, int> totals;
  std::map<std::string, std::map<std::string, int>> by_op;  // last op of the model -> verdict -> count
  std::map<std::string, std::set<int>> opsets;               // last op -> the opsets of its passing cases
  std::string listing;
  for (const std::string& name : cases) {
    const Outcome outcome = run_case(root + "/" + name);
    ++totals[outcome.verdict];
    onnx::ModelProto proto;
    Result<Bytes> bytes = graph::read_file(root + "/" + name + "/model.onnx");
    std::string op = "?";
    if (bytes.is_ok() && proto.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())) && proto.graph().node_size()) {
      op = proto.graph().node(proto.graph().node_size() - 1).op_type();
    }
    ++by_op[op][outcome.verdict];
    if (outcome.verdict == "pass") {
      for (const auto& entry : proto.opset_import()) {
        if (entry.domain().empty() || entry.domain() == "ai.onnx") opsets[op].insert(static_cast<int>(entry.version()));
      }
    }
    listing += "| " + name + " | " + outcome.verdict + " | " + outcome.reason.substr(0, 160) + " |\n";
    CHECK_MESSAGE(outcome.verdict != "fail", name << ": " << outcome.reason);
  }
  std::string table = "| ONNX op (the case's last node) | opsets of the passing cases | pass | unsupported | fail |\n"
                      "|---|---|---|---|---|\n";
  for (const auto& [op, counts] : by_op) {
    const auto count = [&](const char* v) { return counts.count(v) ? counts.at(v) : 0; };
    std::string versions;
    for (int v : opsets[op]) versions += (versions.empty() ? "" : ", ") + std::to_string(v);
    table += "| " + op + " | " + (versions.empty() ? "-" : versions) + " | " + std::to_string(count("pass")) + " | " +
             std::to_string(count("unsupported")) + " | " + std::to_string(count("fail")) + " |\n";
  }
  const std::string summary = "ONNX backend node tests (onnx 1.13.1): " + std::to_string(cases.size()) + " cases: " +
                              std::to_string(totals["pass"]) + " pass, " + std::to_string(totals["unsupported"]) +
                              " unsupported, " + std::to_string(totals["fail"]) + " fail";
  std::ofstream(std::string(PREFLIGHT_TEST_OUTPUT) + "_onnx_conformance.md")
      << "# " << summary << "\n\n" << table << "\n| case | verdict | reason |\n|---|---|---|\n" << listing;
  MESSAGE(summary);
  CHECK(totals["fail"] == 0);
  CHECK(totals["pass"] >= 105);  // the count when this test was committed (docs/onnx.md): none may regress
}

}  // namespace
}  // namespace preflight
