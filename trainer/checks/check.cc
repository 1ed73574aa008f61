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
  char buffer[512];
  va_list args, again;
  va_start(args, pattern);
  va_copy(again, args);
  const int needed = std::vsnprintf(buffer, sizeof buffer, pattern, args);
  va_end(args);
  if (needed < 0) {
    va_end(again);
    return std::string();
  }
  if (static_cast<size_t>(needed) < sizeof buffer) {
    va_end(again);
    return std::string(buffer, static_cast<size_t>(needed));
  }
  std::string text(static_cast<size_t>(needed) + 1, '\0');  // longer texts: sized exactly
  std::vsnprintf(&text[0], text.size(), pattern, again);
  va_end(again);
  text.resize(static_cast<size_t>(needed));
  return text;
}

}  // namespace preflight
