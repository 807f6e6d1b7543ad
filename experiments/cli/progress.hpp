#pragma once
// Progress for long work: a bar with rate and ETA when stdout is a terminal, a plain line
// every few seconds otherwise. Nothing at all for work that ends within `quiet_for` seconds.
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>

namespace kspike::cli {

// SIGINT and SIGTERM in every command but `run` (which stops its simulation cleanly by itself):
// the handler only records the signal, and the next progress update throws `interrupted`.
// Unwinding removes staged output folders and temporaries; main then exits 130 or 143 with one
// line. Long work updates a progress bar at least once a second, so it stops promptly.
struct interrupted : std::exception {
  int signal;
  explicit interrupted(int s) : signal(s) {}
  const char* what() const noexcept override { return "interrupted"; }
};
void install_interrupt_handlers();
// Throws `interrupted` when one of those signals has arrived (for long work that shows no bar).
void throw_if_interrupted();

class progress {
 public:
  progress(std::string label, std::string unit, double quiet_for = 2.0);
  ~progress() { finish(); }  // an exception through the work still ends the bar's line
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;
  // done of total units; rate_scale converts units to the unit shown (e.g. steps -> s simulated).
  void update(std::int64_t done, std::int64_t total, double rate_scale = 1.0);
  void finish();  // ends the bar's line, if one was drawn
  // Running figures shown after the rate (e.g. "loss 0.41 acc 0.86").
  void set_note(std::string note) { note_ = std::move(note); }

 private:
  std::string label_, unit_, note_;
  double quiet_for_;
  bool tty_, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_line_;
};

}  // namespace kspike::cli
