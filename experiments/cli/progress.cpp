#include "experiments/cli/progress.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>

namespace kspike::cli {

namespace {
volatile std::sig_atomic_t pending_signal = 0;
extern "C" void record_signal(int sig) { pending_signal = sig; }
}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, record_signal);
  std::signal(SIGTERM, record_signal);
}

void throw_if_interrupted() {
  if (const int sig = pending_signal) throw interrupted(sig);
}

progress::progress(std::string label, std::string unit, double quiet_for)
    : label_(std::move(label)), unit_(std::move(unit)), quiet_for_(quiet_for), tty_(isatty(fileno(stdout)) != 0),
      start_(std::chrono::steady_clock::now()), last_line_(start_) {}

void progress::update(std::int64_t done, std::int64_t total, double rate_scale) {
  if (pending_signal) {
    finish();
    throw_if_interrupted();
  }
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < quiet_for_ || total <= 0) return;
  const double frac = static_cast<double>(done) / static_cast<double>(total);
  const double rate = static_cast<double>(done) * rate_scale / elapsed;
  const double eta = done > 0 ? elapsed * (1 - frac) / frac : 0;
  if (tty_) {
    const int width = 30, fill = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(fill), '#');
    bar.resize(width, '.');
    std::printf("\r%s [%s] %5.1f%%  %s%s%.3g %s/s  ETA %.0f s ", label_.c_str(), bar.c_str(), 100 * frac, note_.c_str(),
                note_.empty() ? "" : "  ", rate, unit_.c_str(), eta);
    std::fflush(stdout);
    drawn_ = true;
  } else if (std::chrono::duration<double>(now - last_line_).count() >= 5.0 || done == total) {
    last_line_ = now;
    std::printf("%s: %.1f%% (%s%s%.3g %s/s, ETA %.0f s)\n", label_.c_str(), 100 * frac, note_.c_str(),
                note_.empty() ? "" : ", ", rate, unit_.c_str(), eta);
    std::fflush(stdout);
  }
}

void progress::finish() {
  if (drawn_) std::printf("\n");
  drawn_ = false;
}

}  // namespace kspike::cli
