// Training export: train_step and eval methods, pruning, determinism, and the updates themselves.
#include <map>

#include "models/models.h"
#include "graph/builder.h"
#include "graph/training.h"
#include "graph/random.h"
#include "test_util.h"
#include "trainer/trainer.h"

namespace preflight {
namespace {

using graph::Graph;
using graph::OptimizerKind;
using graph::TrainingOptions;

Graph training_graph(const std::string& model, int64_t batch, const TrainingOptions& options, uint64_t seed = 0) {
  Result<Graph> g = models::build_model(model, batch, seed);
  REQUIRE(g.is_ok());
  const Status status = graph::add_training_methods(&*g, options);
  REQUIRE_MESSAGE(status.is_ok(), std::string(status.message()));
  return std::move(g).value();
}

// Runs train_step `steps` times on one fixed batch; returns the losses.
std::vector<float> train_on(Session& session, const std::vector<float>& x, const TensorDesc& x_desc,
                            const std::vector<int64_t>& labels, OptimizerKind optimizer, float lr, int steps) {
  std::vector<float> losses;
  const int64_t batch = static_cast<int64_t>(labels.size());
  for (int step = 1; step <= steps; ++step) {
    std::map<std::string, float> hyper = {{"lr", lr}, {"momentum", 0.9f}, {"weight_decay", 0.0f}, {"beta1", 0.9f},
                                          {"beta2", 0.999f}, {"eps", 1e-8f}, {"step", static_cast<float>(step)}};
    std::vector<float> values;
    for (const std::string& name : graph::hyperparameter_names(optimizer)) values.push_back(hyper[name]);
    std::vector<TensorView> inputs = {{x_desc, const_cast<float*>(x.data())},
                                      {make_desc(DType::I64, {batch}), const_cast<int64_t*>(labels.data())}};
    for (float& v : values) inputs.push_back(TensorView{make_desc(DType::F32, {}), &v});
    losses.push_back(test::run_method(session, "train_step", inputs)[0][0]);
  }
  return losses;
}

TEST_CASE("training: train_step on mlp fits one batch with SGD, Adam and AdamW") {
  for (OptimizerKind optimizer : {OptimizerKind::kSgd, OptimizerKind::kAdam, OptimizerKind::kAdamW}) {
    SUBCASE(graph::hyperparameter_names(optimizer).size() == 3 ? "sgd" : "adam family") {
      TrainingOptions options;
      options.optimizer = optimizer;
      const Graph g = training_graph("mlp", 8, options);
      test::LoadedModel loaded = test::load_graph(g);
      Result<Session> session = Session::open(std::move(*loaded.model));
      REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
      SplitMix64 rng(5);
      std::vector<float> x(8 * 64);
      for (float& v : x) v = rng.uniform(0.0f, 1.0f);
      const std::vector<int64_t> labels = {0, 1, 2, 3, 4, 5, 6, 7};
      const auto losses = train_on(*session, x, make_desc(DType::F32, {8, 64}), labels, optimizer,
                                   optimizer == OptimizerKind::kSgd ? 0.1f : 0.01f, 60);
      MESSAGE("loss " << losses.front() << " -> " << losses.back());
      CHECK(losses.front() == doctest::Approx(std::log(10.0)).epsilon(0.15));  // ~log(C) at init
      CHECK(losses.back() < 0.05f * losses.front());
    }
  }
}

TEST_CASE("training: eval gives the loss and predictions and changes nothing") {
  const Graph g = training_graph("mlp", 4, TrainingOptions());
  test::LoadedModel loaded = test::load_graph(g);
  Result<Session> session = Session::open(std::move(*loaded.model));
  REQUIRE(session.is_ok());
  std::vector<float> x(4 * 64, 0.5f);
  std::vector<int64_t> labels = {1, 2, 3, 4};
  const std::vector<TensorView> inputs = {{make_desc(DType::F32, {4, 64}), x.data()},
                                          {make_desc(DType::I64, {4}), labels.data()}};
  const auto first = test::run_method(*session, "eval", inputs);
  const auto second = test::run_method(*session, "eval", inputs);
  REQUIRE(first.size() == 2);
  CHECK(first[1].size() == 40);
  CHECK(first == second);
  const auto logits = test::run_method(*session, "infer", {inputs[0]});
  CHECK(logits[0] == first[1]);
}

TEST_CASE("training: last:1 on cnn32 backpropagates through no convolution and needs a smaller arena") {
  TrainingOptions last;
  last.trainable = "last:1";
  TrainingOptions all;
  const Graph pruned = training_graph("cnn32", 2, last);
  const Graph full = training_graph("cnn32", 2, all);
  const graph::Method& train = pruned.methods[static_cast<size_t>(pruned.find_method("train_step"))];
  int backward = 0, updates = 0;
  for (int n : train.nodes) {
    const graph::Node& node = pruned.nodes[static_cast<size_t>(n)];
    if (node.backward) {
      ++backward;
      CHECK_MESSAGE((node.op == OpType::SoftmaxCrossEntropy || node.op == OpType::Linear),
                    "backward node for " << node.name);
    }
    updates += node.op == OpType::AdamUpdate;
  }
  CHECK(backward == 2);  // the loss and the Linear; the pooled features need no gradient
  CHECK(updates == 2);   // weight and bias
  // No gradient for the network input, in either export.
  for (const Graph* g : {&pruned, &full}) CHECK(g->find_tensor("x.grad") < 0);

  test::LoadedModel a = test::load_graph(pruned), b = test::load_graph(full);
  Result<Session> sa = Session::open(std::move(*a.model)), sb = Session::open(std::move(*b.model));
  REQUIRE(sa.is_ok());
  REQUIRE(sb.is_ok());
  const int ma = sa->model().find_method("train_step"), mb = sb->model().find_method("train_step");
  MESSAGE("train_step arena: last:1 " << sa->program(ma).arena_bytes() << " bytes, all " << sb->program(mb).arena_bytes());
  CHECK(sa->program(ma).arena_bytes() < sb->program(mb).arena_bytes());
}

TEST_CASE("training: trainable selections and their errors") {
  Result<Graph> g = models::build_model("cnn8", 1, 0);
  REQUIRE(g.is_ok());
  Result<std::vector<int>> biases = graph::select_trainable(*g, "bias$");
  REQUIRE(biases.is_ok());
  CHECK(biases->size() == 3);
  Result<std::vector<int>> last2 = graph::select_trainable(*g, "last:2");
  REQUIRE(last2.is_ok());
  CHECK(last2->size() == 4);
  Result<std::vector<int>> none = graph::select_trainable(*g, "^nothing");
  REQUIRE_FALSE(none.is_ok());
  CHECK(test::contains(none.status().message(), "selects no parameter (parameters: conv2d_0.weight"));
  CHECK(test::contains(graph::select_trainable(*g, "last:zero").status().message(), "last:N needs a whole number N from 1 to"));
  CHECK(test::contains(graph::select_trainable(*g, "(").status().message(), "not a valid regular expression"));
  CHECK(test::contains(graph::parse_optimizer("rmsprop").status().message(), "unknown optimizer 'rmsprop'"));
}

TEST_CASE("training: the same seed gives bit-identical losses and weights, another seed does not") {
  const auto run = [](uint64_t seed) {
    const Graph g = training_graph("cnn8", 4, TrainingOptions(), seed);
    test::LoadedModel loaded = test::load_graph(g);
    Result<Session> session = Session::open(std::move(*loaded.model));
    REQUIRE(session.is_ok());
    std::vector<float> x(4 * 64);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) / 13.0f;
    auto losses = train_on(*session, x, make_desc(DType::F32, {4, 8, 8, 1}), {3, 1, 4, 1}, OptimizerKind::kAdam, 0.01f, 5);
    REQUIRE(std::string(session->model().tensors()[1].name) == "conv2d_0.weight");
    const float* weight = static_cast<const float*>(session->persistent_data(1));
    losses.insert(losses.end(), weight, weight + 16 * 9);
    return losses;
  };
  CHECK(run(1) == run(1));
  CHECK(run(1) != run(2));
}

TEST_CASE("training: a model with updates is verified: updates come last and write only parameters or state") {
  Graph g = training_graph("mlp", 2, TrainingOptions());
  graph::Method& train = g.methods[static_cast<size_t>(g.find_method("train_step"))];
  SUBCASE("an update before a read of its parameter") {
    std::swap(train.nodes.back(), train.nodes.front());
    // The first node is now an update; the Linear that reads the updated weight comes after it.
    const Status status = graph::validate(g);
    REQUIRE_FALSE(status.is_ok());
  }
  SUBCASE("an update that writes a constant") {
    const int update = train.nodes.back();
    const int param = g.nodes[static_cast<size_t>(update)].inputs[0];
    g.tensors[static_cast<size_t>(param)].role = fb::TensorRole::Constant;
    CHECK(test::contains(graph::validate(g).message(), "is updated in place, so it must be a Parameter, OptimizerState or Buffer"));
  }
  SUBCASE("a backward node whose grad_mask names no input") {
    for (graph::Node& node : g.nodes) {
      if (node.backward) {
        node.grad_mask = 0;
        break;
      }
    }
    CHECK(test::contains(graph::validate(g).message(), "must name at least one of the"));
  }
  SUBCASE("the unmodified export is valid") { CHECK(graph::validate(g).is_ok()); }
}

}  // namespace
}  // namespace preflight

namespace preflight {
namespace {

TEST_CASE("training: Dropout and BatchNorm train in training mode and infer in inference mode") {
  graph::GraphBuilder b(3);
  graph::Value x = b.input("x", DType::F32, {8, 16});
  graph::Value h = b.dropout(b.relu(b.batch_norm(b.linear(x, 12))), 0.25f);
  b.output(b.linear(h, 4), "logits");
  Result<Graph> g = b.finish();
  REQUIRE(g.is_ok());
  TrainingOptions options;
  options.optimizer = OptimizerKind::kSgd;
  REQUIRE(graph::add_training_methods(&*g, options).is_ok());
  const graph::Method& train = g->methods[static_cast<size_t>(g->find_method("train_step"))];
  REQUIRE(g->tensors[static_cast<size_t>(train.inputs.back())].name == "dropout_seed");
  int training_nodes = 0;
  for (int n : train.nodes) {
    const graph::Node& node = g->nodes[static_cast<size_t>(n)];
    training_nodes += node.op == OpType::BatchNormTrain || (node.op == OpType::Dropout && node.attrs.dropout.training);
    CHECK(node.op != OpType::BatchNorm);
  }
  CHECK(training_nodes == 2 + 2);  // the two forward nodes and their backward nodes
  const int running_mean = g->find_tensor("batch_norm_1.running_mean");
  REQUIRE(running_mean >= 0);
  CHECK(g->tensors[static_cast<size_t>(running_mean)].role == fb::TensorRole::Buffer);

  test::LoadedModel loaded = test::load_graph(*g);
  Result<Session> session = Session::open(std::move(*loaded.model));
  REQUIRE_MESSAGE(session.is_ok(), std::string(session.status().message()));
  SplitMix64 rng(8);
  std::vector<float> features(8 * 16);
  for (float& v : features) v = rng.uniform(-2.0f, 3.0f);
  std::vector<int64_t> labels = {0, 1, 2, 3, 0, 1, 2, 3};
  const auto step = [&](int64_t seed) {
    float lr = 0.0f, momentum = 0.0f, decay = 0.0f;  // lr 0: the weights stay, the statistics move
    std::vector<TensorView> inputs = {{make_desc(DType::F32, {8, 16}), features.data()},
                                      {make_desc(DType::I64, {8}), labels.data()},
                                      {make_desc(DType::F32, {}), &lr},
                                      {make_desc(DType::F32, {}), &momentum},
                                      {make_desc(DType::F32, {}), &decay},
                                      {make_desc(DType::I64, {}), &seed}};
    return test::run_method(*session, "train_step", inputs)[0][0];
  };
  const std::vector<TensorView> eval_inputs = {{make_desc(DType::F32, {8, 16}), features.data()},
                                               {make_desc(DType::I64, {8}), labels.data()}};
  const auto eval_before = test::run_method(*session, "eval", eval_inputs);
  const float loss_a = step(1), loss_b = step(2), loss_a_again = step(1);
  CHECK(loss_a != loss_b);          // another dropout mask
  CHECK(loss_a == loss_a_again);    // the same seed, the same mask (batch statistics do not depend on history)
  // Three steps moved the running mean from 0 toward the batch mean: 1 - 0.9^3 of the way.
  const float* mean = static_cast<const float*>(session->persistent_data(running_mean));
  float moved = 0.0f;
  for (int c = 0; c < 12; ++c) moved += std::fabs(mean[c]);
  CHECK(moved > 0.0f);
  const auto eval_after = test::run_method(*session, "eval", eval_inputs);
  CHECK(eval_before[1] != eval_after[1]);  // eval uses the running statistics
  CHECK(eval_after == test::run_method(*session, "eval", eval_inputs));  // and no mask
}

TEST_CASE("training: the names the export adds never collide with the model's (an output called y, a weight called lr)") {
  graph::GraphBuilder b(3);
  graph::Value x = b.input("x", DType::F32, {4, 3});
  b.output(b.linear(x, 2), "y");
  Result<Graph> g = b.finish();
  REQUIRE(g.is_ok());
  for (graph::Tensor& tensor : g->tensors) {
    if (tensor.role == fb::TensorRole::Parameter) tensor.name = tensor.desc.rank == 2 ? "lr" : "loss";
  }
  TrainingOptions options;
  options.optimizer = OptimizerKind::kSgd;
  const Status status = graph::add_training_methods(&*g, options);
  REQUIRE_MESSAGE(status.is_ok(), status.message());
  const graph::Method& train = g->methods[static_cast<size_t>(g->find_method("train_step"))];
  std::vector<std::string> inputs, outputs;
  for (int t : train.inputs) inputs.push_back(g->tensors[static_cast<size_t>(t)].name);
  for (int t : train.outputs) outputs.push_back(g->tensors[static_cast<size_t>(t)].name);
  CHECK(inputs == std::vector<std::string>{"x", "y#2", "lr#2", "momentum", "weight_decay"});
  CHECK(outputs == std::vector<std::string>{"loss#2", "y"});
  CHECK(graph::exported_name("lr#2") == "lr");
  CHECK(graph::exported_name("lr#x") == "lr#x");
  CHECK(graph::exported_name("lr#") == "lr#");
  CHECK(graph::exported_name("a#b#12") == "a#b");
  // The trainer finds its inputs by the exported names and trains.
  Dataset data;
  data.source = "eight rows";
  data.rows = 8;
  data.sample = make_desc(DType::F32, {3});
  data.features = test::random_floats(24, 5);
  data.labels = {0, 1, 0, 1, 1, 0, 1, 0};
  Result<std::unique_ptr<Trainer>> trainer = Trainer::create(*g);
  REQUIRE_MESSAGE(trainer.is_ok(), trainer.status().message());
  TrainConfig config;
  config.epochs = 2;
  config.batch = 4;
  config.lr = 0.1f;
  Result<TrainReport> report = (*trainer)->fit(data, data, config);
  REQUIRE_MESSAGE(report.is_ok(), report.status().message());
  CHECK(report->losses.size() == 4);
  CHECK(std::isfinite(report->losses.back()));
}

}  // namespace
}  // namespace preflight
