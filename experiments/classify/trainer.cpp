#include "experiments/classify/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "experiments/cli/progress.hpp"
#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"
#include "sim/io/png_check.hpp"
#include "sim/io/text_file.hpp"

namespace kspike::classify {

namespace fs = std::filesystem;
using cli::progress;

namespace {

// Sample ids for the Poisson encoder: a training image gets new spikes every epoch.
std::uint64_t train_id(int epoch, std::int64_t index) { return (static_cast<std::uint64_t>(epoch) << 20) + static_cast<std::uint64_t>(index); }

void plot_curves(const std::string& csv, const std::string& png, const std::string& title) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) return;
  std::ostringstream g;
  g << "set terminal pngcairo size 720,480 noenhanced\nset output '" << png << ".tmp'\nset datafile separator ','\n"
      << "set title '" << title << "'\nset xlabel 'epoch'\nset ylabel 'accuracy'\nset y2label 'loss'\nset ytics nomirror\n"
      << "set y2tics\nset key bottom right\nset grid\n"
      << "plot '" << csv << "' skip 1 using 1:3 with linespoints title 'train accuracy', '' skip 1 using 1:4 "
      << "with linespoints title 'test accuracy', '' skip 1 using 1:2 axes x1y2 with linespoints title 'train loss'\n";
  io::plot_with_gnuplot(g.str(), png);
}

// The test accuracy field of a metrics.csv row.
double test_accuracy_of(const std::string& row) {
  std::size_t at = 0;
  for (int k = 0; k < 3; ++k) at = row.find(',', at) + 1;
  return std::stod(row.substr(at));
}

// Where a run writes: a folder (DIR/checkpoint.h5, DIR/metrics.csv, DIR/curves.png), or, for
// --out NAME.h5, that checkpoint with NAME.metrics.csv and NAME.curves.png beside it.
struct run_files {
  std::string checkpoint, csv, png, folder;
  static run_files of(const std::string& out) {
    run_files f;
    const fs::path p(out);
    if (p.extension() == ".h5") {
      f.folder = p.has_parent_path() ? p.parent_path().string() : ".";
      f.checkpoint = out;
      f.csv = (p.parent_path() / (p.stem().string() + ".metrics.csv")).string();
      f.png = (p.parent_path() / (p.stem().string() + ".curves.png")).string();
    } else {
      f.folder = out;
      f.checkpoint = (p / "checkpoint.h5").string();
      f.csv = (p / "metrics.csv").string();
      f.png = (p / "curves.png").string();
    }
    return f;
  }
};

}  // namespace

split load_fashion_mnist(const std::string& where) {
  const std::string dir = where == "fashion-mnist" ? debian_fashion_mnist : where;
  auto pick = [&](const std::string& base) {
    for (const char* ext : {".gz", ""})
      if (fs::exists(fs::path(dir) / (base + ext))) return (fs::path(dir) / (base + ext)).string();
    throw error(dir + ": " + base + "[.gz] not found (Debian's dataset-fashion-mnist installs it in " +
                debian_fashion_mnist + ")");
  };
  split s;
  s.train = encoders::read_idx_dataset(pick("train-images-idx3-ubyte"), pick("train-labels-idx1-ubyte"));
  s.test = encoders::read_idx_dataset(pick("t10k-images-idx3-ubyte"), pick("t10k-labels-idx1-ubyte"));
  return s;
}

void batch_of(const encoders::idx_dataset& d, const std::vector<std::int64_t>& order, std::size_t first, std::size_t n,
              std::vector<float>& images, std::vector<std::int32_t>& labels) {
  images.resize(n * 784);
  labels.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::int64_t i = order[first + k];
    const std::uint8_t* p = d.images.image(i);
    for (int q = 0; q < 784; ++q) images[k * 784 + static_cast<std::size_t>(q)] = float(p[q]) / 255.0f;
    labels[k] = d.labels[static_cast<std::size_t>(i)];
  }
}

std::uint64_t test_id(std::int64_t index) { return (std::uint64_t(1) << 40) + static_cast<std::uint64_t>(index); }

double evaluate(sequential_net& net, const encoders::idx_dataset& d, std::int64_t limit, int batch) {
  const std::int64_t n = limit > 0 ? std::min<std::int64_t>(limit, d.images.count) : d.images.count;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> images;
  std::vector<std::int32_t> labels;
  std::vector<std::uint64_t> ids;
  std::int64_t correct = 0;
  for (std::int64_t first = 0; first < n; first += batch) {
    const auto b = static_cast<std::size_t>(std::min<std::int64_t>(batch, n - first));
    batch_of(d, order, static_cast<std::size_t>(first), b, images, labels);
    ids.resize(b);
    for (std::size_t k = 0; k < b; ++k) ids[k] = test_id(first + static_cast<std::int64_t>(k));
    const auto p = net.predict(images, static_cast<std::int64_t>(b), ids);
    for (std::size_t k = 0; k < b; ++k) correct += p[k] == labels[k];
  }
  return double(correct) / double(n);
}

double train_run(const model_spec& m, const run_setup& run, const split& ds, const std::string& out,
                 const std::string& resume, const std::string& init) {
  const run_files files = run_files::of(out);
  sequential_net net(m, run.seed, run.backend);
  const int epochs = static_cast<int>(m.train.epochs), batch = static_cast<int>(m.train.batch);
  const std::int64_t n = run.limit > 0 ? std::min<std::int64_t>(run.limit, ds.train.images.count) : ds.train.images.count;
  const std::int64_t steps_per_epoch = n / batch;
  if (steps_per_epoch < 1) throw error("--limit: fewer training images (" + std::to_string(n) + ") than one batch (" + std::to_string(batch) + ")");
  std::vector<std::string> rows;
  int first_epoch = 0;
  double test = 0;
  if (!resume.empty()) {
    const train_progress p = net.load(resume);
    rows = p.csv_rows;
    first_epoch = p.epochs_done;
    std::printf("resumed from %s after epoch %d\n", resume.c_str(), first_epoch);
    if (first_epoch >= epochs) std::printf("nothing to do: --epochs %d already done\n", epochs);
    if (!rows.empty()) test = test_accuracy_of(rows.back());
  } else if (!init.empty()) {
    net.init_from(init);
  }
  const std::string tag = m.name + " " + neuron_name(m.neuron.kind) + " T=" + std::to_string(m.effective_timesteps());
  // The GEMM library is part of what decides a trained network's last digits.
  std::printf("%s: GEMM by %s\n", tag.c_str(), net.gemm_library().c_str());
  if (const std::string advice = net.gemm_advice(); !advice.empty()) std::printf("%s\n", advice.c_str());
  std::vector<float> images;
  std::vector<std::int32_t> labels;
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(batch));
  for (int e = first_epoch; e < epochs; ++e) {
    net.set_epoch(e, epochs);
    std::vector<std::int64_t> order(static_cast<std::size_t>(ds.train.images.count));
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t k = order.size(); k > 1; --k)  // the epoch's permutation, from the seed
      std::swap(order[k - 1], order[static_cast<std::size_t>(uniform01(philox4x32(run.seed, stream_id(stream::epoch_order, static_cast<std::uint32_t>(e)), 0, k)) * double(k))]);
    order.resize(static_cast<std::size_t>(n));
    progress bar(tag + " epoch " + std::to_string(e + 1) + "/" + std::to_string(epochs), "images", 1.0);
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s) {
      batch_of(ds.train, order, static_cast<std::size_t>(s * batch), static_cast<std::size_t>(batch), images, labels);
      for (int k = 0; k < batch; ++k) ids[static_cast<std::size_t>(k)] = train_id(e, order[static_cast<std::size_t>(s * batch + k)]);
      int c = 0;
      const double loss = net.train_step(images, labels, &c, ids);
      if (!std::isfinite(loss)) throw internal_error("training diverged (loss " + std::to_string(loss) + ")");
      loss_sum += loss;
      correct += c;
      char note[96];
      std::snprintf(note, sizeof note, "loss %.3f acc %.3f", loss_sum / double(s + 1), double(correct) / double((s + 1) * batch));
      bar.set_note(note);
      bar.update((s + 1) * batch, steps_per_epoch * batch);
    }
    bar.finish();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    test = evaluate(net, ds.test, run.test_limit, 256);
    const double train_acc = double(correct) / double(steps_per_epoch * batch);
    const auto& lt = net.last_loss();
    char line[256];
    std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.2f,%.1f", e + 1, loss_sum / double(steps_per_epoch), train_acc, test, secs,
                  double(steps_per_epoch * batch) / secs);
    rows.push_back(line);
    test = test_accuracy_of(line);  // as the CSV holds it, so a resumed run reports the same number
    std::printf("%s epoch %d: loss %.4f, train accuracy %.4f, test accuracy %.4f, %.0f s (%.1f images/s)", tag.c_str(), e + 1,
                loss_sum / double(steps_per_epoch), train_acc, test, secs, double(steps_per_epoch * batch) / secs);
    if (m.train.hoyer_weight > 0) std::printf(", last Hoyer term %.4g", lt.hoyer);
    if (m.train.rmp_weight > 0) std::printf(", last RMP term %.4g", lt.rmp);
    std::printf("\n");
    std::fflush(stdout);
    // The checkpoint first (it holds the metrics rows too), then the CSV, each written whole
    // and renamed; a write error leaves the previous epoch's files, and a folder this run
    // created is removed again if the first epoch could not be written into it.
    const bool had_folder = fs::exists(files.folder);
    fs::create_directories(files.folder);
    try {
      net.save(files.checkpoint, train_progress{e + 1, epochs, rows});
      std::string text = "epoch,train_loss,train_accuracy,test_accuracy,seconds,images_per_second\n";
      for (const auto& r : rows) text += r + "\n";
      io::write_text_file_atomically(files.csv, text);
    } catch (...) {
      std::error_code ec;
      if (!had_folder && fs::is_empty(files.folder, ec)) fs::remove(files.folder, ec);
      throw;
    }
    plot_curves(files.csv, files.png, tag);
  }
  return test;
}

void plot_reduction(const std::string& csv, const std::string& png, const std::string& title) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) return;
  std::ostringstream g;
  g << "set terminal pngcairo size 720,480 noenhanced\nset output '" << png << ".tmp'\nset datafile separator ','\n"
      << "set title '" << title << "'\nset xlabel 'timesteps T'\nset ylabel 'test accuracy'\nset key bottom right\nset grid\n"
      << "set xtics 1\nplot '" << csv << "' skip 1 using 1:3 with linespoints lw 2 title 'after training at T', "
      << "'' skip 2 using 1:2 with points pt 6 ps 1.5 title 'initialised from T+1, before training'\n";
  io::plot_with_gnuplot(g.str(), png);
}

}  // namespace kspike::classify
