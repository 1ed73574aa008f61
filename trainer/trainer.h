// The training loop: epochs of seeded shuffled batches through train_step, validation over the
// whole validation split through eval every epoch, early stopping that keeps the best parameters,
// learning-rate schedules, checkpoints, progress, and a stop at the first non-finite value.
//
// Models have static shapes, so a Trainer keeps one Session per batch size it meets (the full
// batch and the last partial one, re-planned with graph::set_batch) and copies the trained
// tensors between them when it switches. Host-side.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/serialize.h"
#include "runtime/session.h"
#include "trainer/checkpoint.h"
#include "trainer/dataset.h"

namespace preflight {

class Trainer;

struct TrainConfig {
  int epochs = 10;
  int64_t max_steps = 0;          // stop after this many steps in all (0: no limit)
  int64_t batch = 32;
  float lr = 3e-4f;               // Adam at 3e-4, the recipe's default
  float momentum = 0.9f;          // SGD
  float weight_decay = 0.0f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam, AdamW
  float max_grad_norm = 1.0f;     // models exported with gradient clipping
  std::string schedule = "constant";  // constant | cosine (to 0 over the run) | step
  int step_every = 10;            // step schedule: multiply by step_gamma every this many epochs
  float step_gamma = 0.1f;
  uint64_t seed = 0;              // the shuffle of every epoch derives from it
  int patience = 0;               // early stopping: epochs without a better validation loss (0: off)
  bool keep_best = false;         // leave the best epoch's parameters at the end (early stopping always does)
  bool check_numerics = true;     // stop at the first NaN or Inf, naming the node
  std::string checkpoint;         // written after every epoch (and at max_steps) when set
  int64_t checkpoint_every = 0;   // also every this many steps (0: epoch ends only)
  FILE* progress = nullptr;       // where to report (a progress bar on a terminal, lines otherwise)
  // Called after every `observe_every` steps (and before the first, with step 0) with the
  // trainer between steps: the checks record validation loss and predictions on a fixed batch.
  std::function<Status(Trainer& trainer, int64_t step)> observe;
  int64_t observe_every = 0;
};

struct EpochLog {
  int epoch = 0;                  // 1-based
  int64_t steps = 0;              // steps taken so far in all
  float lr = 0.0f;                // learning rate of the epoch's last step
  double train_loss = 0.0;        // mean over the epoch's batches
  double train_accuracy = 0.0;    // classification: over the epoch's batches (from eval, before each step)
  double validation_loss = 0.0;
  double validation_accuracy = 0.0;
  double seconds = 0.0;
};

struct TrainReport {
  std::vector<EpochLog> epochs;
  std::vector<float> losses;      // every step's training loss
  int best_epoch = 0;             // 1-based; -1 when no epoch was validated
  double best_validation_loss = 0.0;
  // The epoch whose parameters the trainer holds at the end: the best with patience or keep_best
  // (when the best was seen in this run), else the last one trained (0: none).
  int weights_epoch = 0;
  bool stopped_early = false;
};

struct Evaluation {
  double loss = 0.0;              // mean over rows
  double accuracy = 0.0;          // classification
  int64_t rows = 0;
  // Classification: the mean predicted probability of each class (softmax of the outputs);
  // regression: the mean of each output.
  std::vector<double> mean_prediction;
  // The same per row (rows x prediction_width, row-major).
  std::vector<float> predictions;
  int64_t prediction_width = 0;
};

// The order of the training rows in `epoch` (0-based): a seeded shuffle that depends only on
// (seed, epoch), so a run resumed in the middle of an epoch meets the same batches. fit() takes
// its batches from it in order; skeleton.input_view shows the first.
std::vector<int64_t> epoch_order(int64_t rows, uint64_t seed, uint32_t epoch);

class Trainer {
 public:
  // `graph` must have train_step and eval (graph::add_training_methods). `options` (the backend)
  // apply to every session the trainer opens.
  static Result<std::unique_ptr<Trainer>> create(graph::Graph graph, const SessionOptions& options = SessionOptions());

  Result<TrainReport> fit(const Dataset& train, const Dataset& validation, const TrainConfig& config);
  // Loss and accuracy of eval over every row of `data`.
  Result<Evaluation> evaluate(const Dataset& data);

  // Continues from a checkpoint at the next fit(): loads it into the trainer.
  Status resume(const std::string& checkpoint_path);

  // The graph with the trained parameters and optimizer state (to write as a .pfb); refused when
  // a tensor holds NaN or Inf (check_trained_finite).
  Result<graph::Graph> trained_graph();
  // The same graph whatever its values hold (for checks that look at the weights, never saved).
  graph::Graph snapshot();
  // The sample shape the model takes ([8, 8, 1] for cnn8), for reshape_samples.
  TensorDesc sample_desc() const;
  Session& session(int64_t batch);  // the session for a batch size, with the current weights

 private:
  Trainer() = default;
  Result<Session*> session_for(int64_t batch);
  Status run_batch(const char* method, const Dataset& data, const int64_t* rows, int64_t count,
                   const std::map<std::string, float>& hyper, float* loss, int64_t* correct,
                   std::vector<float>* predictions = nullptr);

  graph::Graph graph_;
  SessionOptions options_;
  int64_t batch_ = 0;
  std::unique_ptr<Bytes> bytes_;  // graph_ serialized at batch_: every session's model borrows them
  std::map<int64_t, std::unique_ptr<Session>> sessions_;
  Session* current_ = nullptr;  // the session holding the latest weights
  bool check_numerics_ = true;
  int64_t dropout_seed_ = 0;      // of the step under way: a function of the run's seed and the step
  CheckpointState state_;
  bool resumed_ = false;
};

}  // namespace preflight
