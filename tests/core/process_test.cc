// core::RunProcess: output captured and bounded, input fed without
// deadlocking, deadlines that kill the whole process group.
#include "core/process.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace otaroll::core {
namespace {

TEST(RunProcess, CapturesOutputAndTheExitCode) {
  auto r = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_FALSE(r->truncated);
}

// More input than a pipe holds, echoed back while it is written: feeding
// and reading interleave, so neither side blocks the other.
TEST(RunProcess, FeedsLargeInputWhileReadingTheOutput) {
  ProcessOptions o;
  o.input = std::string(1 << 20, 'x') + "end\n";
  o.max_output = 4 << 20;
  auto r = RunProcess({"cat"}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), o.input.size());
  EXPECT_TRUE(r->out == o.input);  // (not printed: a megabyte)
  EXPECT_FALSE(r->truncated);
}

// A program that stops reading early: the rest of the input is dropped,
// with no SIGPIPE for the caller.
TEST(RunProcess, AProgramThatClosesItsInputEarlyIsNoSignal) {
  ProcessOptions o;
  o.input = std::string(4 << 20, 'y');
  auto r = RunProcess({"head", "-c", "5"}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->out, "yyyyy");
  EXPECT_EQ(r->exit_code, 0);
}

TEST(RunProcess, OutputBeyondTheBoundIsDroppedAndSaid) {
  ProcessOptions o;
  o.max_output = 10;
  auto r = RunProcess({"sh", "-c", "printf 0123456789abcdef"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "0123456789");
  EXPECT_TRUE(r->truncated);
}

TEST(RunProcess, TheDeadlineKillsTheProgramAndWhatItStarted) {
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  auto r = RunProcess({"sh", "-c", "sleep 30 & sleep 30; echo never"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->out, "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(RunProcess, AMissingProgramIsAnError) {
  auto r = RunProcess({"otaroll-no-such-program"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot run otaroll-no-such-program: No such file or directory");
}

}  // namespace
}  // namespace otaroll::core
