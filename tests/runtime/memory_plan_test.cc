// The arena planner: near the lifetime lower bound on the reference models, and never two live
// tensors in the same bytes (checked on the models and on random lifetimes).
#include "models/models.h"
#include "graph/random.h"
#include "test_util.h"

namespace preflight {
namespace {

TEST_CASE("memory plan: cnn32 infer is within 1.1x of the lifetime lower bound") {
  Result<graph::Graph> g = models::build_model("cnn32", 1, 0);
  REQUIRE(g.is_ok());
  test::LoadedModel loaded = test::load_graph(*g);
  Result<Session> session = Session::open(std::move(*loaded.model));
  REQUIRE(session.is_ok());
  const Program& program = session->program(0);
  // The bound is recomputed here from the plan's buffers, independently of the Program's value.
  size_t bound = 0;
  int last = 0;
  for (const PlannedBuffer& b : program.plan().buffers) last = std::max(last, b.last_step);
  for (int step = 0; step <= last; ++step) {
    size_t live = 0;
    for (const PlannedBuffer& b : program.plan().buffers) {
      if (b.first_step <= step && step <= b.last_step) live += (b.size + 63) / 64 * 64;
    }
    bound = std::max(bound, live);
  }
  CHECK(bound == program.lower_bound_bytes());
  CHECK(bound > 0);
  MESSAGE("cnn32 arena " << program.arena_bytes() << " bytes, lower bound " << bound);
  CHECK(static_cast<double>(program.arena_bytes()) <= 1.1 * static_cast<double>(bound));
  // The biggest activation alone is 32x32x32 floats: the plan cannot be smaller than two of them.
  CHECK(program.arena_bytes() >= 2 * 32 * 32 * 32 * sizeof(float));
}

TEST_CASE("memory plan: no two live tensors overlap in any reference model") {
  for (const std::string& name : models::model_names()) {
    SUBCASE(name.c_str()) {
      Result<graph::Graph> g = models::build_model(name, 2, 0);
      REQUIRE(g.is_ok());
      test::LoadedModel loaded = test::load_graph(*g);
      Result<Session> session = Session::open(std::move(*loaded.model));
      REQUIRE(session.is_ok());
      const MemoryPlan& plan = session->program(0).plan();
      char message[256] = {0};
      CHECK_MESSAGE(!plan_has_overlap(plan, message, sizeof message), message);
      for (const PlannedBuffer& b : plan.buffers) {
        CHECK(b.offset % 64 == 0);
        CHECK(b.offset + b.size <= plan.arena_bytes);
      }
      CHECK(plan.arena_bytes >= session->program(0).lower_bound_bytes());
    }
  }
}

TEST_CASE("memory plan: random lifetimes never overlap and meet the bound's order") {
  SplitMix64 rng(99);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<PlannedBuffer> buffers;
    const int count = 1 + static_cast<int>(rng.next() % 30);
    for (int i = 0; i < count; ++i) {
      PlannedBuffer b;
      b.id = i;
      b.size = 1 + rng.next() % 5000;
      b.first_step = static_cast<int>(rng.next() % 20);
      b.last_step = b.first_step + static_cast<int>(rng.next() % 6);
      buffers.push_back(b);
    }
    const size_t bound = lifetime_lower_bound(buffers, 64);
    const MemoryPlan plan = plan_arena(buffers, 64);
    char message[256] = {0};
    REQUIRE_MESSAGE(!plan_has_overlap(plan, message, sizeof message), "trial " << trial << ": " << message);
    CHECK(plan.arena_bytes >= bound);
    size_t total = 0;
    for (const PlannedBuffer& b : buffers) total += (b.size + 63) / 64 * 64;
    CHECK(plan.arena_bytes <= total);
  }
}

TEST_CASE("memory plan: the overlap check itself catches an overlap") {
  MemoryPlan plan;
  plan.buffers = {{0, 128, 0, 2, 0}, {1, 128, 1, 3, 64}};
  char message[256] = {0};
  CHECK(plan_has_overlap(plan, message, sizeof message));
  CHECK(test::contains(message, "tensors 0 [0, +128) and 1 [64, +128)"));
  plan.buffers[1].first_step = 3;  // lifetimes no longer overlap
  CHECK_FALSE(plan_has_overlap(plan, message, sizeof message));
}

}  // namespace
}  // namespace preflight
