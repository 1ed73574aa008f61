#include "trainer/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <algorithm>
#include <cstring>

#include "graph/random.h"
#include "graph/training.h"

namespace preflight {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

float scheduled_lr(const TrainConfig& config, int64_t step, int64_t total_steps, uint32_t epoch) {
  if (config.schedule == "cosine" && total_steps > 0) {
    return static_cast<float>(config.lr * 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total_steps))));
  }
  if (config.schedule == "step" && config.step_every > 0) {
    return static_cast<float>(config.lr * std::pow(static_cast<double>(config.step_gamma), static_cast<int>(epoch) / config.step_every));
  }
  return config.lr;
}

int64_t argmax(const float* row, int64_t count) {
  int64_t best = 0;
  for (int64_t c = 1; c < count; ++c) best = row[c] > row[best] ? c : best;
  return best;
}

}  // namespace

std::vector<int64_t> epoch_order(int64_t rows, uint64_t seed, uint32_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) order[static_cast<size_t>(i)] = i;
  SplitMix64 rng(seed * 0x9E3779B97F4A7C15ull + epoch + 1);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
  return order;
}


Result<std::unique_ptr<Trainer>> Trainer::create(graph::Graph graph, const SessionOptions& options) {
  const int train = graph.find_method("train_step");
  PF_CHECK(train >= 0 && graph.find_method("eval") >= 0, Error::kInvalidArgument,
           "the model has no train_step and eval methods (export it for training first)");
  // Serialized once: the session of every batch size opens these bytes and re-plans them
  // (Model::set_batch). The verifier checks the training methods' contract (runtime/verify.cc)
  // before anything here indexes their inputs and outputs.
  std::unique_ptr<Bytes> bytes(new Bytes(graph::serialize(graph)));
  {
    Result<Model> verified = Model::load_bytes(bytes->data(), bytes->size());
    if (!verified.is_ok()) return verified.status();
  }
  const graph::Tensor& x = graph.tensors[static_cast<size_t>(graph.methods[static_cast<size_t>(train)].inputs[0])];
  PF_CHECK(x.desc.rank >= 1, Error::kInvalidArgument, "train_step's input '%s' has no batch dim", x.name.c_str());
  std::unique_ptr<Trainer> trainer(new Trainer());
  trainer->batch_ = x.desc.dims[0];
  trainer->graph_ = std::move(graph);
  trainer->bytes_ = std::move(bytes);
  trainer->options_ = options;
  Result<Session*> first = trainer->session_for(trainer->batch_);
  if (!first.is_ok()) return first.status();
  return Result<std::unique_ptr<Trainer>>(std::move(trainer));
}

TensorDesc Trainer::sample_desc() const {
  const int train = graph_.find_method("train_step");
  TensorDesc x = graph_.tensors[static_cast<size_t>(graph_.methods[static_cast<size_t>(train)].inputs[0])].desc;
  x.rank -= 1;
  for (int d = 0; d < x.rank; ++d) x.dims[d] = x.dims[d + 1];
  return x;
}

Result<Session*> Trainer::session_for(int64_t batch) {
  auto found = sessions_.find(batch);
  Session* session = found == sessions_.end() ? nullptr : found->second.get();
  if (!session) {
    Result<Model> model = Model::load_bytes(bytes_->data(), bytes_->size());
    if (!model.is_ok()) return model.status();
    if (batch != batch_) {
      PF_RETURN_IF_ERROR(model->set_batch(batch).with_context("planning for batch %lld: ", static_cast<long long>(batch)));
    }
    Result<Session> opened = Session::open(std::move(model).value(), options_);
    if (!opened.is_ok()) return opened.status();
    std::unique_ptr<Session> owned(new Session(std::move(opened).value()));
    session = owned.get();
    sessions_[batch] = std::move(owned);
  }
  session->set_check_numerics(check_numerics_);
  if (current_ && current_ != session) {
    // Hand the latest weights and optimizer state over to the session of this batch size.
    for (size_t t = 0; t < current_->model().tensors().size(); ++t) {
      if (!session->is_writable(static_cast<int>(t))) continue;
      std::memcpy(session->writable_data(static_cast<int>(t)), current_->persistent_data(static_cast<int>(t)),
                  current_->model().tensors()[t].desc.num_bytes());
    }
  }
  current_ = session;
  return Result<Session*>(session);
}

Session& Trainer::session(int64_t batch) { return *session_for(batch).value(); }

Status Trainer::run_batch(const char* method, const Dataset& data, const int64_t* rows, int64_t count,
                          const std::map<std::string, float>& hyper, float* loss, int64_t* correct,
                          std::vector<float>* predictions) {
  Result<Session*> found = session_for(count);
  if (!found.is_ok()) return found.status();
  Session& session = **found;
  const Model& model = session.model();
  const MethodInfo& info = model.methods()[static_cast<size_t>(model.find_method(method))];
  std::vector<float> features(static_cast<size_t>(count * data.sample_elements()));
  std::vector<int64_t> labels(static_cast<size_t>(count));
  std::vector<float> targets(static_cast<size_t>(data.classification ? 0 : count * 1));
  gather_batch(data, rows, count, features.data(),
               data.classification ? static_cast<void*>(labels.data()) : static_cast<void*>(targets.data()));
  std::vector<float> scalars(info.inputs.size());
  std::vector<TensorView> inputs(info.inputs.size());
  for (size_t i = 0; i < info.inputs.size(); ++i) {
    const TensorInfo& input = model.tensors()[static_cast<size_t>(info.inputs[i])];
    inputs[i].desc = input.desc;
    if (i == 0) {
      inputs[i].data = features.data();
    } else if (i == 1) {
      inputs[i].data = data.classification ? static_cast<void*>(labels.data()) : static_cast<void*>(targets.data());
      PF_CHECK(input.desc.dtype == (data.classification ? DType::I64 : DType::F32), Error::kInvalidArgument,
               "the labels of %s are %s, the model's '%s' takes %s", data.source.c_str(),
               data.classification ? "classes" : "regression targets", input.name,
               input.desc.dtype == DType::I64 ? "classes (i64)" : "targets (f32)");
      PF_CHECK(static_cast<int64_t>(input.desc.num_elements()) == (data.classification ? count : static_cast<int64_t>(targets.size())),
               Error::kInvalidArgument, "the labels of %s do not fit the model's '%s' %s", data.source.c_str(),
               input.name, data.classification ? "(classes expected)" : "(targets expected)");
    } else if (input.desc.dtype == DType::I64 && graph::exported_name(input.name) == "dropout_seed") {
      inputs[i].data = &dropout_seed_;
    } else {
      const auto value = hyper.find(graph::exported_name(input.name));
      PF_CHECK(value != hyper.end(), Error::kInvalidArgument, "method '%s' takes an input '%s' the trainer does not know",
               method, input.name);
      scalars[i] = value->second;
      inputs[i].data = &scalars[i];
    }
  }
  std::vector<std::vector<uint8_t>> results(info.outputs.size());
  std::vector<TensorView> outputs(info.outputs.size());
  for (size_t i = 0; i < info.outputs.size(); ++i) {
    outputs[i].desc = model.tensors()[static_cast<size_t>(info.outputs[i])].desc;
    results[i].resize(outputs[i].desc.num_bytes());
    outputs[i].data = results[i].data();
  }
  PF_RETURN_IF_ERROR(session.run(method, inputs.data(), static_cast<int>(inputs.size()), outputs.data(),
                                 static_cast<int>(outputs.size())));
  *loss = outputs[0].f32()[0];
  PF_CHECK(std::isfinite(*loss), Error::kInvalidArgument, "method '%s': the loss is %g", method, static_cast<double>(*loss));
  *correct = 0;
  if (data.classification && outputs.size() > 1 && outputs[1].desc.rank == 2) {
    const int64_t classes = outputs[1].desc.dims[1];
    for (int64_t r = 0; r < count; ++r) *correct += argmax(outputs[1].f32() + r * classes, classes) == labels[static_cast<size_t>(r)];
  }
  if (predictions && outputs.size() > 1) {
    const int64_t width = count ? outputs[1].desc.num_elements() / count : 0;
    for (int64_t r = 0; r < count; ++r) {
      const float* p = outputs[1].f32() + r * width;
      if (data.classification) {
        double max_value = p[0], total = 0.0;
        for (int64_t c = 1; c < width; ++c) max_value = std::max(max_value, static_cast<double>(p[c]));
        for (int64_t c = 0; c < width; ++c) total += std::exp(p[c] - max_value);
        for (int64_t c = 0; c < width; ++c) predictions->push_back(static_cast<float>(std::exp(p[c] - max_value) / total));
      } else {
        predictions->insert(predictions->end(), p, p + width);
      }
    }
  }
  return Status::ok();
}

Result<Evaluation> Trainer::evaluate(const Dataset& data) {
  Evaluation result;
  std::vector<int64_t> rows(static_cast<size_t>(data.rows));
  for (int64_t i = 0; i < data.rows; ++i) rows[static_cast<size_t>(i)] = i;
  double total = 0.0;
  int64_t correct = 0;
  for (int64_t first = 0; first < data.rows; first += batch_) {
    const int64_t count = std::min(batch_, data.rows - first);
    float loss = 0.0f;
    int64_t batch_correct = 0;
    PF_RETURN_IF_ERROR(run_batch("eval", data, &rows[static_cast<size_t>(first)], count, {}, &loss, &batch_correct,
                                 &result.predictions));
    total += static_cast<double>(loss) * static_cast<double>(count);
    correct += batch_correct;
  }
  result.prediction_width = data.rows ? static_cast<int64_t>(result.predictions.size()) / data.rows : 0;
  result.mean_prediction.assign(static_cast<size_t>(result.prediction_width), 0.0);
  for (size_t i = 0; i < result.predictions.size(); ++i) {
    result.mean_prediction[i % static_cast<size_t>(result.prediction_width)] += result.predictions[i];
  }
  for (double& value : result.mean_prediction) value /= static_cast<double>(data.rows ? data.rows : 1);
  result.rows = data.rows;
  result.loss = data.rows ? total / static_cast<double>(data.rows) : 0.0;
  result.accuracy = data.rows ? static_cast<double>(correct) / static_cast<double>(data.rows) : 0.0;
  return Result<Evaluation>(result);
}

Status Trainer::resume(const std::string& checkpoint_path) {
  Result<Session*> session = session_for(batch_);
  if (!session.is_ok()) return session.status();
  Result<CheckpointState> state = load_checkpoint(checkpoint_path, *session);
  if (!state.is_ok()) return state.status();
  state_ = *state;
  resumed_ = true;
  return Status::ok();
}

Result<TrainReport> Trainer::fit(const Dataset& train, const Dataset& validation, const TrainConfig& config) {
  PF_CHECK(train.rows > 0, Error::kInvalidArgument, "%s: the training data set is empty", train.source.c_str());
  PF_CHECK(config.epochs >= 1, Error::kInvalidArgument, "epochs must be >= 1, got %d", config.epochs);
  PF_CHECK(config.schedule == "constant" || config.schedule == "cosine" || config.schedule == "step",
           Error::kInvalidArgument, "unknown schedule '%s' (known: constant, cosine, step)", config.schedule.c_str());
  PF_CHECK(config.batch == batch_, Error::kInvalidArgument, "the model was exported for batch %lld, not %lld",
           static_cast<long long>(batch_), static_cast<long long>(config.batch));
  if (train.classification) {
    const int train_method = graph_.find_method("train_step");
    const TensorDesc& logits = graph_.tensors[static_cast<size_t>(graph_.methods[static_cast<size_t>(train_method)].outputs[1])].desc;
    const int64_t classes = logits.rank == 2 ? logits.dims[1] : 0;
    for (const Dataset* data : {&train, &validation}) {
      for (int64_t r = 0; r < data->rows; ++r) {
        const int64_t label = data->labels[static_cast<size_t>(r)];
        PF_CHECK(label < classes, Error::kInvalidArgument, "%s: label %lld in row %lld is outside [0, %lld) (the model has %lld classes)",
                 data->source.c_str(), static_cast<long long>(label), static_cast<long long>(r + 1),
                 static_cast<long long>(classes), static_cast<long long>(classes));
      }
    }
  }
  check_numerics_ = config.check_numerics;
  if (resumed_) {
    PF_CHECK(state_.seed == config.seed, Error::kInvalidArgument,
             "the checkpoint was written with seed %llu, this run has seed %llu", static_cast<unsigned long long>(state_.seed),
             static_cast<unsigned long long>(config.seed));
  } else {
    state_ = CheckpointState();
    state_.seed = config.seed;
  }
  resumed_ = false;
  const int64_t batches_per_epoch = (train.rows + batch_ - 1) / batch_;
  if (static_cast<int64_t>(state_.batch_in_epoch) >= batches_per_epoch) {
    // A checkpoint from the end of an epoch's batches (another data size, or an older writer):
    // go on with the next epoch.
    ++state_.epoch;
    state_.batch_in_epoch = 0;
  }
  int64_t total_steps = batches_per_epoch * config.epochs;
  if (config.max_steps > 0 && config.max_steps < total_steps) total_steps = config.max_steps;
  const bool terminal = config.progress && isatty(fileno(config.progress));
  std::map<std::string, float> hyper = {{"momentum", config.momentum}, {"weight_decay", config.weight_decay},
                                        {"beta1", config.beta1},       {"beta2", config.beta2},
                                        {"eps", config.eps},           {"max_grad_norm", config.max_grad_norm}};
  TrainReport report;
  std::vector<std::vector<uint8_t>> best_weights;
  const auto save_best = [&]() {
    Session& holder = *current_;
    best_weights.assign(holder.model().tensors().size(), {});
    for (size_t t = 0; t < best_weights.size(); ++t) {
      const auto* data = static_cast<const uint8_t*>(holder.writable_data(static_cast<int>(t)));
      if (data) best_weights[t].assign(data, data + holder.model().tensors()[t].desc.num_bytes());
    }
  };
  const auto checkpoint = [&]() -> Status {
    if (config.checkpoint.empty()) return Status::ok();
    return save_checkpoint(config.checkpoint, *current_, state_);
  };
  if (config.observe && config.observe_every > 0 && state_.step == 0) PF_RETURN_IF_ERROR(config.observe(*this, 0));
  bool stop = false;
  for (uint32_t epoch = state_.epoch; epoch < static_cast<uint32_t>(config.epochs) && !stop; ++epoch) {
    const Clock::time_point start = Clock::now();
    const std::vector<int64_t> order = epoch_order(train.rows, config.seed, epoch);
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0, batches = 0;
    float lr = config.lr;
    for (int64_t b = static_cast<int64_t>(state_.batch_in_epoch); b < batches_per_epoch; ++b) {
      if (config.max_steps > 0 && static_cast<int64_t>(state_.step) >= config.max_steps) {
        stop = true;
        break;
      }
      const int64_t first = b * batch_, count = std::min(batch_, train.rows - first);
      lr = scheduled_lr(config, static_cast<int64_t>(state_.step), total_steps, epoch);
      hyper["lr"] = lr;
      hyper["step"] = static_cast<float>(state_.step + 1);
      dropout_seed_ = static_cast<int64_t>(SplitMix64(config.seed ^ (state_.step * 0xD1B54A32D192ED03ull)).next() >> 1);
      float loss = 0.0f;
      int64_t batch_correct = 0;
      const Status status = run_batch("train_step", train, &order[static_cast<size_t>(first)], count, hyper, &loss, &batch_correct);
      if (!status.is_ok()) {
        return status.with_context("epoch %u, step %llu: ", epoch + 1, static_cast<unsigned long long>(state_.step + 1));
      }
      report.losses.push_back(loss);
      loss_sum += loss;
      correct += batch_correct;
      seen += count;
      ++batches;
      ++state_.step;
      state_.batch_in_epoch = static_cast<uint64_t>(b + 1);
      if (config.observe && config.observe_every > 0 && state_.step % static_cast<uint64_t>(config.observe_every) == 0) {
        PF_RETURN_IF_ERROR(config.observe(*this, static_cast<int64_t>(state_.step)));
      }
      // Not after an epoch's last batch: the epoch-end checkpoint (after validation) follows.
      if (config.checkpoint_every > 0 && state_.step % static_cast<uint64_t>(config.checkpoint_every) == 0 &&
          b + 1 < batches_per_epoch) {
        PF_RETURN_IF_ERROR(checkpoint());
      }
      if (terminal) {
        const int width = 24, filled = static_cast<int>(width * (b + 1) / batches_per_epoch);
        std::fprintf(config.progress, "\repoch %u/%d [%.*s%*s] %lld/%lld loss %.4f acc %5.1f%% %.0f steps/s ", epoch + 1,
                     config.epochs, filled, "########################", width - filled, "", static_cast<long long>(b + 1),
                     static_cast<long long>(batches_per_epoch), loss_sum / static_cast<double>(batches),
                     100.0 * static_cast<double>(correct) / static_cast<double>(seen),
                     static_cast<double>(batches) / std::max(seconds_since(start), 1e-9));
        std::fflush(config.progress);
      }
    }
    if (batches == 0) break;
    EpochLog log;
    log.epoch = static_cast<int>(epoch) + 1;
    log.steps = static_cast<int64_t>(state_.step);
    log.lr = lr;
    log.train_loss = loss_sum / static_cast<double>(batches);
    log.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    if (validation.rows > 0) {
      Result<Evaluation> evaluation = evaluate(validation);
      if (!evaluation.is_ok()) return evaluation.status().with_context("epoch %u validation: ", epoch + 1);
      log.validation_loss = evaluation->loss;
      log.validation_accuracy = evaluation->accuracy;
    }
    log.seconds = seconds_since(start);
    report.epochs.push_back(log);
    if (config.progress) {
      std::fprintf(config.progress, "%sepoch %d/%d: loss %.4f acc %.1f%% | validation loss %.4f acc %.1f%% | lr %.3g | %.0f steps/s\n",
                   terminal ? "\r" : "", log.epoch, config.epochs, log.train_loss, 100.0 * log.train_accuracy,
                   log.validation_loss, 100.0 * log.validation_accuracy, static_cast<double>(log.lr),
                   static_cast<double>(batches) / std::max(log.seconds, 1e-9));
    }
    // An epoch cut short by max_steps was validated like any other: it can be the best.
    const bool keep_best = config.patience > 0 || config.keep_best;
    if (validation.rows > 0 && log.validation_loss < state_.best_validation_loss) {
      state_.best_validation_loss = log.validation_loss;
      state_.best_epoch = log.epoch;
      if (keep_best) save_best();
    } else if (!stop && config.patience > 0 && log.epoch - state_.best_epoch >= config.patience) {
      report.stopped_early = true;
      stop = true;
    }
    report.weights_epoch = log.epoch;
    if (stop && config.max_steps > 0 && static_cast<int64_t>(state_.step) >= config.max_steps) {
      PF_RETURN_IF_ERROR(checkpoint());  // in the middle of the epoch: a resume goes on from its next batch
      break;
    }
    state_.epoch = epoch + 1;
    state_.batch_in_epoch = 0;
    PF_RETURN_IF_ERROR(checkpoint());
  }
  if ((config.patience > 0 || config.keep_best) && !best_weights.empty()) {
    // Early stopping and keep_best leave the best parameters: put them back.
    for (size_t t = 0; t < best_weights.size(); ++t) {
      if (!best_weights[t].empty()) std::memcpy(current_->writable_data(static_cast<int>(t)), best_weights[t].data(), best_weights[t].size());
    }
    report.weights_epoch = state_.best_epoch;
  }
  report.best_epoch = state_.best_epoch;
  report.best_validation_loss = state_.best_validation_loss;
  return Result<TrainReport>(std::move(report));
}

Result<graph::Graph> Trainer::trained_graph() {
  PF_RETURN_IF_ERROR(check_trained_finite(*current_, "the trained model"));
  return Result<graph::Graph>(snapshot());
}

graph::Graph Trainer::snapshot() {
  graph::Graph trained = graph_;
  for (size_t t = 0; t < trained.tensors.size(); ++t) {
    if (!current_->is_writable(static_cast<int>(t))) continue;
    const auto* data = static_cast<const uint8_t*>(current_->persistent_data(static_cast<int>(t)));
    trained.tensors[t].data.assign(data, data + trained.tensors[t].data.size());
  }
  return trained;
}

}  // namespace preflight
