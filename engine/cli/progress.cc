#include "cli/progress.h"

#include <fmt/format.h>

namespace otaroll::cli {

Progress::Progress(std::ostream& out, bool live, Now now) : out_(out), live_(live), now_(std::move(now)) {}

Progress::~Progress() {
  Finish();
}

std::string Progress::Render(int done, int due, double rate) {
  std::string line = fmt::format("[{}/{}]", done, due);
  if (rate <= 0.0) return line;
  line += fmt::format(" {:.1f} jobs/s", rate);
  if (due > done) {
    const auto left = static_cast<int64_t>((due - done) / rate + 0.5);
    line += left < 120 ? fmt::format(", {} s left", left) : fmt::format(", {} min left", (left + 30) / 60);
  }
  return line;
}

void Progress::Clear() {
  if (!drawn_) return;
  out_ << "\r\033[K";
  drawn_ = false;
}

void Progress::Draw() {
  if (!live_ || due_ <= 0) return;
  const double seconds = std::chrono::duration<double>(now_() - first_at_).count();
  const double rate = seconds > 0.0 && done_ > first_done_ ? (done_ - first_done_) / seconds : 0.0;
  out_ << Render(done_, due_, rate) << std::flush;
  drawn_ = true;
}

void Progress::Line(const std::string& text, int done, int due) {
  if (first_done_ < 0 && due > 0) {
    first_done_ = done;
    first_at_ = now_();
  }
  done_ = done;
  due_ = due;
  Clear();
  out_ << text << "\n";
  Draw();
}

void Progress::Finish() {
  Clear();
  out_ << std::flush;
}

}  // namespace otaroll::cli
