// apply's progress (issue: long runs): on a terminal, one live line kept at
// the bottom — "[12/40] 3.1 jobs/s, 9 s left" — redrawn in place as creates
// happen, with the event lines printed above it; elsewhere (a pipe, a CI
// log) plain event lines only. No colour: NO_COLOR has nothing to turn off.
#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <string>

namespace otaroll::cli {

class Progress {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;
  // `live`: `out` is a terminal. `now` is injected for tests.
  Progress(
      std::ostream& out, bool live, Now now = [] { return std::chrono::steady_clock::now(); });
  ~Progress();  // Finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // An event line (already escaped, no newline), printed above the live
  // line, which is redrawn with `done` of `due` creates attempted so far.
  void Line(const std::string& text, int done, int due);
  // Clears the live line (the last event lines stay).
  void Finish();

  // "[12/40] 3.1 jobs/s, 9 s left"; a rate of 0 is not known yet.
  static std::string Render(int done, int due, double per_second);

 private:
  void Clear();
  void Draw();

  std::ostream& out_;
  const bool live_;
  Now now_;
  // The rate is measured from the first update on (refresh and lookups
  // before the first create do not count).
  std::chrono::steady_clock::time_point first_at_{};
  int first_done_ = -1;
  bool drawn_ = false;
  int done_ = 0, due_ = 0;
};

}  // namespace otaroll::cli
