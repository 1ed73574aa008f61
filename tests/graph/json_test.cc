// The JSON view: model -> JSON -> model keeps every byte that matters, and bad JSON is refused.
#include "models/models.h"
#include "graph/json.h"
#include "test_util.h"

namespace preflight {
namespace {

TEST_CASE("json: round trip of every reference model is byte-identical") {
  for (const std::string& name : models::model_names()) {
    // Under qemu-user the small models only: the text of mbv2's weights took 80 s there (the JSON
    // code is the same on every architecture; natively every model runs).
    if (test::kEmulated && (name == "mbv2" || name == "cnn32")) continue;
    SUBCASE(name.c_str()) {
      Result<graph::Graph> g = models::build_model(name, 1, 1);
      REQUIRE(g.is_ok());
      const Bytes original = graph::serialize(*g);
      Result<std::string> json = graph::model_to_json(original.data(), original.size());
      REQUIRE_MESSAGE(json.is_ok(), std::string(json.status().message()));
      CHECK(test::contains(json->c_str(), "\"schema_version\": 1"));
      CHECK(test::contains(json->c_str(), "\"name\": \"logits\""));
      Result<Bytes> back = graph::model_from_json(*json);
      REQUIRE_MESSAGE(back.is_ok(), std::string(back.status().message()));
      CHECK(*back == original);
      Result<std::string> again = graph::model_to_json(back->data(), back->size());
      REQUIRE(again.is_ok());
      CHECK(*again == *json);
    }
  }
}

TEST_CASE("json: an edited model is verified like any file") {
  Result<graph::Graph> g = models::build_model("mlp", 1, 1);
  REQUIRE(g.is_ok());
  const Bytes original = graph::serialize(*g);
  Result<std::string> json = graph::model_to_json(original.data(), original.size());
  REQUIRE(json.is_ok());
  SUBCASE("syntax error names the line") {
    Result<Bytes> back = graph::model_from_json("{ \"schema_version\": 1, \"tensors\": [ { \"name\": }");
    REQUIRE_FALSE(back.is_ok());
    CHECK(test::contains(back.status().message(), "JSON does not match the model schema"));
  }
  SUBCASE("a field the schema does not have") {
    Result<Bytes> back = graph::model_from_json("{ \"schema_version\": 1, \"colour\": 3 }");
    REQUIRE_FALSE(back.is_ok());
    CHECK(test::contains(back.status().message(), "colour"));
  }
  SUBCASE("a semantic error: the output shape edited") {
    std::string edited = *json;
    const size_t at = edited.find("\"name\": \"logits\"");
    REQUIRE(at != std::string::npos);
    const size_t ten = edited.find("10", at);
    edited.replace(ten, 2, "11");
    Result<Bytes> back = graph::model_from_json(edited);
    REQUIRE_FALSE(back.is_ok());
    CHECK(test::contains(back.status().message(), "is declared f32[1,11], shape inference gives f32[1,10]"));
  }
}

TEST_CASE("json: a corrupt model is refused before printing") {
  Bytes junk(64, 0x41);
  Result<std::string> json = graph::model_to_json(junk.data(), junk.size());
  REQUIRE_FALSE(json.is_ok());
  CHECK(test::contains(json.status().message(), "wrong file identifier"));
}

}  // namespace
}  // namespace preflight
