// The training loop: learning on real data, determinism, checkpoints (corruption, another model,
// SIGKILL while writing), kill-and-resume, non-finite detection, early stopping, bad labels.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <limits>

#include "models/models.h"
#include "graph/random.h"
#include "graph/training.h"
#include "test_util.h"
#include "trainer/trainer.h"

namespace preflight {
namespace {

struct DigitsSplit {
  Dataset train, validation;
};

const DigitsSplit& digits(const TensorDesc& sample) {
  static DigitsSplit split;
  static bool loaded = false;
  if (!loaded) {
    Result<Dataset> data = load_dataset(test::source_path("data/digits.csv.gz"));
    REQUIRE(data.is_ok());
    for (float& v : data->features) v /= 16.0f;
    REQUIRE(split_dataset(*data, 0.2, 3, &split.train, &split.validation).is_ok());
    loaded = true;
  }
  REQUIRE(reshape_samples(&split.train, sample).is_ok());
  REQUIRE(reshape_samples(&split.validation, sample).is_ok());
  return split;
}

std::unique_ptr<Trainer> make_trainer(const std::string& model, int64_t batch, graph::OptimizerKind optimizer,
                                      uint64_t seed = 0) {
  Result<graph::Graph> g = models::build_model(model, batch, seed);
  REQUIRE(g.is_ok());
  graph::TrainingOptions options;
  options.optimizer = optimizer;
  REQUIRE(graph::add_training_methods(&*g, options).is_ok());
  Result<std::unique_ptr<Trainer>> trainer = Trainer::create(std::move(g).value());
  REQUIRE_MESSAGE(trainer.is_ok(), std::string(trainer.status().message()));
  return std::move(trainer).value();
}

std::string temp_path(const std::string& name) { return std::string(PREFLIGHT_TEST_OUTPUT) + "_trainer_" + name; }

TEST_CASE("trainer: mlp learns the digits in two epochs, partial last batch included") {
  auto trainer = make_trainer("mlp", 32, graph::OptimizerKind::kAdam);
  const DigitsSplit& data = digits(trainer->sample_desc());
  REQUIRE(data.train.rows % 32 != 0);  // 1438 rows: the last batch is partial
  TrainConfig config;
  config.epochs = 2;
  config.lr = 3e-3f;
  Result<TrainReport> report = trainer->fit(data.train, data.validation, config);
  REQUIRE_MESSAGE(report.is_ok(), std::string(report.status().message()));
  REQUIRE(report->epochs.size() == 2);
  CHECK(report->losses.size() == 2 * 45);
  MESSAGE("validation accuracy " << report->epochs.back().validation_accuracy);
  CHECK(report->epochs.back().validation_accuracy > 0.9);
  CHECK(report->epochs.back().train_loss < report->epochs.front().train_loss);
  Result<Evaluation> evaluation = trainer->evaluate(data.validation);
  REQUIRE(evaluation.is_ok());
  CHECK(evaluation->accuracy == doctest::Approx(report->epochs.back().validation_accuracy));
}

TEST_CASE("trainer: same seed, same losses and weights; another seed, other losses") {
  const auto run = [](uint64_t seed) {
    auto trainer = make_trainer("mlp", 64, graph::OptimizerKind::kSgd);
    const DigitsSplit& data = digits(trainer->sample_desc());
    TrainConfig config;
    config.epochs = 1;
    config.lr = 0.05f;
    config.batch = 64;
    config.seed = seed;
    Result<TrainReport> report = trainer->fit(data.train, data.validation, config);
    REQUIRE(report.is_ok());
    const graph::Graph trained = *trainer->trained_graph();
    std::vector<float> result = report->losses;
    const auto& w = trained.tensors[static_cast<size_t>(trained.find_tensor("linear_4.weight"))].data;
    result.insert(result.end(), reinterpret_cast<const float*>(w.data()), reinterpret_cast<const float*>(w.data() + w.size()));
    return result;
  };
  CHECK(run(4) == run(4));
  CHECK(run(4) != run(5));
}

TEST_CASE("trainer: killed mid-epoch and resumed from its checkpoint, it continues bit-identically") {
  TrainConfig config;
  config.epochs = 2;
  config.lr = 1e-3f;
  config.batch = 64;
  config.seed = 9;
  auto whole = make_trainer("cnn8", 64, graph::OptimizerKind::kAdam);
  const DigitsSplit& data = digits(whole->sample_desc());
  Result<TrainReport> uninterrupted = whole->fit(data.train, data.validation, config);
  REQUIRE(uninterrupted.is_ok());

  const std::string checkpoint = temp_path("resume.pfc");
  TrainConfig first_part = config;
  first_part.max_steps = 30;  // 23 batches an epoch: stops in the middle of epoch 2
  first_part.checkpoint = checkpoint;
  auto interrupted = make_trainer("cnn8", 64, graph::OptimizerKind::kAdam);
  Result<TrainReport> before = interrupted->fit(data.train, data.validation, first_part);
  REQUIRE(before.is_ok());
  REQUIRE(before->losses.size() == 30);

  auto resumed = make_trainer("cnn8", 64, graph::OptimizerKind::kAdam);
  REQUIRE(resumed->resume(checkpoint).is_ok());
  Result<TrainReport> after = resumed->fit(data.train, data.validation, config);
  REQUIRE_MESSAGE(after.is_ok(), std::string(after.status().message()));
  std::vector<float> joined = before->losses;
  joined.insert(joined.end(), after->losses.begin(), after->losses.end());
  CHECK(joined == uninterrupted->losses);
  const graph::Graph a = *whole->trained_graph(), b = *resumed->trained_graph();
  for (size_t t = 0; t < a.tensors.size(); ++t) CHECK(a.tensors[t].data == b.tensors[t].data);
}

TEST_CASE("checkpoints: corruption, truncation and another model's checkpoint are refused") {
  auto trainer = make_trainer("mlp", 16, graph::OptimizerKind::kAdam);
  const std::string path = temp_path("ckpt.pfc");
  Session& session = trainer->session(16);
  REQUIRE(save_checkpoint(path, session, CheckpointState()).is_ok());
  REQUIRE(load_checkpoint(path, &session).is_ok());
  Result<Bytes> bytes = graph::read_file(path);
  REQUIRE(bytes.is_ok());
  const auto write = [&](const Bytes& content) {
    return write_file_atomic(path.c_str(), content.data(), content.size());
  };
  SUBCASE("one byte flipped") {
    Bytes flipped = *bytes;
    flipped[flipped.size() / 2] ^= 0x40;
    REQUIRE(write(flipped).is_ok());
    CHECK(test::contains(load_checkpoint(path, &session).status().message(), "checksum mismatch"));
  }
  SUBCASE("truncated") {
    Bytes truncated(bytes->begin(), bytes->begin() + static_cast<std::ptrdiff_t>(bytes->size() / 3));
    REQUIRE(write(truncated).is_ok());
    CHECK(test::contains(load_checkpoint(path, &session).status().message(), "checksum mismatch"));
  }
  SUBCASE("another model") {
    auto other = make_trainer("cnn8", 16, graph::OptimizerKind::kAdam);
    CHECK(test::contains(load_checkpoint(path, &other->session(16)).status().message(), "checkpoint is from another model"));
  }
  SUBCASE("not a checkpoint") {
    CHECK(test::contains(load_checkpoint(test::source_path("tests/fixtures/tiny.npz"), &session).status().message(),
                         "not a preflight checkpoint"));
  }
}

TEST_CASE("checkpoints: SIGKILL at random points while writing leaves the old or the new file, never a corrupt one") {
  auto trainer = make_trainer("mlp", 16, graph::OptimizerKind::kAdam);
  Session& session = trainer->session(16);
  const std::string path = temp_path("killed.pfc");
  CheckpointState state;
  REQUIRE(save_checkpoint(path, session, state).is_ok());
  SplitMix64 rng(17);
  int old_kept = 0, new_written = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      CheckpointState next;
      for (uint64_t step = 1;; ++step) {  // writes until killed
        next.step = step;
        save_checkpoint(path, session, next);
      }
    }
    usleep(static_cast<useconds_t>(rng.next() % 3000));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    Result<CheckpointState> loaded = load_checkpoint(path, &session);
    REQUIRE_MESSAGE(loaded.is_ok(), "trial " << trial << ": " << loaded.status().message());
    (loaded->step == 0 ? old_kept : new_written) += 1;
    REQUIRE(save_checkpoint(path, session, state).is_ok());  // back to the old content
  }
  MESSAGE("200 kills: old file kept " << old_kept << " times, a new one complete " << new_written << " times");
  CHECK(old_kept + new_written == 200);
}

TEST_CASE("trainer: a diverging run stops at the first non-finite value and names the node") {
  auto trainer = make_trainer("mlp", 32, graph::OptimizerKind::kSgd);
  const DigitsSplit& data = digits(trainer->sample_desc());
  TrainConfig config;
  config.epochs = 3;
  config.lr = 1e6f;  // diverges
  config.momentum = 0.0f;
  Result<TrainReport> report = trainer->fit(data.train, data.validation, config);
  REQUIRE_FALSE(report.is_ok());
  MESSAGE(std::string(report.status().message()));
  CHECK(test::contains(report.status().message(), "method 'train_step' node"));
  CHECK(test::contains(report.status().message(), "non-finite values"));
}

TEST_CASE("trainer: weights holding NaN or Inf are never written, as a checkpoint or as a model") {
  auto trainer = make_trainer("mlp", 32, graph::OptimizerKind::kSgd);
  const std::string path = temp_path("finite.pfc");
  Session& session = trainer->session(32);
  CheckpointState state;
  state.step = 5;
  REQUIRE(save_checkpoint(path, session, state).is_ok());
  // A weight turned NaN (as a diverged run with the numerics check off leaves it).
  int weight = -1;
  for (size_t t = 0; t < session.model().tensors().size() && weight < 0; ++t) {
    if (session.model().tensors()[t].role == fb::TensorRole::Parameter) weight = static_cast<int>(t);
  }
  static_cast<float*>(session.writable_data(weight))[3] = std::numeric_limits<float>::quiet_NaN();
  Result<graph::Graph> trained = trainer->trained_graph();
  REQUIRE_FALSE(trained.is_ok());
  CHECK_MESSAGE(test::contains(trained.status().message(), "refusing to write the trained model: tensor '"), trained.status().message());
  CHECK(test::contains(trained.status().message(), "NaN or Inf values"));
  Session& diverged = trainer->session(32);
  const Status saved = save_checkpoint(path, diverged, CheckpointState());
  REQUIRE_FALSE(saved.is_ok());
  CHECK_MESSAGE(test::contains(saved.message(), "refusing to write the checkpoint"), saved.message());
  // The old checkpoint is still there, and still loads.
  Result<CheckpointState> loaded = load_checkpoint(path, &diverged);
  REQUIRE(loaded.is_ok());
  CHECK(loaded->step == 5);
}

TEST_CASE("trainer: early stopping keeps the best epoch's parameters") {
  auto trainer = make_trainer("mlp", 32, graph::OptimizerKind::kAdam);
  const DigitsSplit& data = digits(trainer->sample_desc());
  TrainConfig config;
  config.epochs = 6;
  config.lr = 0.05f;  // too high: the validation loss gets worse after a while
  config.patience = 1;
  Result<TrainReport> report = trainer->fit(data.train, data.validation, config);
  REQUIRE(report.is_ok());
  Result<Evaluation> evaluation = trainer->evaluate(data.validation);
  REQUIRE(evaluation.is_ok());
  CHECK(evaluation->loss == doctest::Approx(report->best_validation_loss).epsilon(1e-6));
  if (report->stopped_early) CHECK(report->epochs.size() < 6);
}

TEST_CASE("trainer: labels outside the model's classes and empty data are refused") {
  auto trainer = make_trainer("mlp", 8, graph::OptimizerKind::kAdam);
  Dataset data;
  data.source = "made-up";
  data.rows = 2;
  data.sample = make_desc(DType::F32, {64});
  data.features.assign(128, 0.5f);
  data.labels = {3, 12};
  TrainConfig config;
  config.batch = 8;
  Result<TrainReport> report = trainer->fit(data, Dataset(), config);
  REQUIRE_FALSE(report.is_ok());
  CHECK(test::contains(report.status().message(), "made-up: label 12 in row 2 is outside [0, 10)"));
  CHECK(test::contains(trainer->fit(Dataset(), Dataset(), config).status().message(), "the training data set is empty"));
  config.batch = 16;
  CHECK(test::contains(trainer->fit(data, Dataset(), config).status().message(), "exported for batch 8, not 16"));
}

}  // namespace
}  // namespace preflight

namespace preflight {
namespace {

TEST_CASE("trainer: constant by default; cosine and step schedules only when asked") {
  auto trainer = make_trainer("mlp", 64, graph::OptimizerKind::kSgd);
  const DigitsSplit& data = digits(trainer->sample_desc());
  TrainConfig config;
  config.epochs = 2;
  config.batch = 64;
  config.lr = 0.01f;
  Result<TrainReport> constant = trainer->fit(data.train, data.validation, config);
  REQUIRE(constant.is_ok());
  CHECK(constant->epochs[1].lr == 0.01f);
  config.schedule = "step";
  config.step_every = 1;
  Result<TrainReport> step = trainer->fit(data.train, data.validation, config);
  REQUIRE(step.is_ok());
  CHECK(step->epochs[0].lr == 0.01f);
  CHECK(step->epochs[1].lr == doctest::Approx(0.001f));
  config.schedule = "cosine";
  Result<TrainReport> cosine = trainer->fit(data.train, data.validation, config);
  REQUIRE(cosine.is_ok());
  // 23 steps an epoch: the last step of epoch 1 is half way, the last of epoch 2 near 0.
  CHECK(cosine->epochs[0].lr == doctest::Approx(0.01 * 0.5 * (1 + std::cos(M_PI * 22 / 46))).epsilon(1e-5));
  CHECK(cosine->epochs[1].lr < 1e-4f);
  config.schedule = "exponential";
  CHECK(test::contains(trainer->fit(data.train, data.validation, config).status().message(),
                       "unknown schedule 'exponential' (known: constant, cosine, step)"));
}

}  // namespace
}  // namespace preflight
