#include "trainer/checks/check.h"

#include <cstdarg>
#include <cstdio>

namespace preflight {

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return "pass";
    case Verdict::kWarn: return "warn";
    case Verdict::kFail: return "fail";
    case Verdict::kSkipped: return "skipped";
  }
  return "unknown";
}

CheckResult make_result(const char* id, Verdict verdict, double measured, double threshold, std::string explanation) {
  CheckResult result;
  result.id = id;
  result.verdict = verdict;
  result.measured = measured;
  result.threshold = threshold;
  result.explanation = std::move(explanation);
  return result;
}

std::string format_text(const char* pattern, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, pattern);
  std::vsnprintf(buffer, sizeof buffer, pattern, args);
  va_end(args);
  return buffer;
}

}  // namespace preflight
