// The bad-input corpus, tests/bad_inputs/cases.txt: every case must exit 2 with one line on
// stderr naming the file, key or option at fault, create nothing, and leave every existing file
// byte for byte as it was. The damaged checkpoints and the decompression bomb are made here
// (they are binary and derived from valid ones); the text inputs are files in the corpus.
#include <catch2/catch.hpp>

#include <hdf5.h>
#include <sys/wait.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "experiments/classify/model_spec.hpp"
#include "experiments/classify/sequential_net.hpp"
#include "sim/io/hdf5_handle.hpp"
#include "support/cli_runner.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

namespace fs = std::filesystem;
using namespace kspike;

namespace {

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every file and folder under `root`, with the contents of the files.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(e.path(), root).string();
    out[rel] = e.is_regular_file() ? bytes_of(e.path()) : std::string("<folder>");
  }
  return out;
}

void make_checkpoints(const kspike_test::temp_dir& dir) {
  namespace h5 = io::h5;
  const auto ann = classify::load_model_spec("fmnist-ann");
  {
    classify::sequential_net net(ann, 0);
    net.save(dir.file("ann.h5"), {});
    auto w = net.get_array("param.layers.0.conv.weight");
    w[3] = std::nanf("");
    net.set_array("param.layers.0.conv.weight", w);
    net.save(dir.file("nan.h5"), {});
  }
  {
    classify::model_spec snn = classify::load_model_spec("fmnist-snn");
    classify::sequential_net(snn, 0).save(dir.file("snn.h5"), {});
  }
  fs::copy_file(dir.file("ann.h5"), dir.file("short_array.h5"));
  fs::copy_file(dir.file("ann.h5"), dir.file("text_epochs.h5"));
  {
    h5::quiet_errors quiet;
    h5::handle f = h5::file(H5Fopen(dir.file("short_array.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    REQUIRE(f);
    H5Ldelete(f.get(), "param.layers.0.conv.weight", H5P_DEFAULT);
    const std::vector<float> shorter(7, 0.5f);
    h5::write_array(f.get(), "param.layers.0.conv.weight", shorter.data(), {shorter.size()}, "short_array.h5");
    REQUIRE(f.close());
    h5::handle g = h5::file(H5Fopen(dir.file("text_epochs.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    REQUIRE(g);
    H5Adelete(g.get(), "epochs_done");
    h5::write_string_attribute(g.get(), "epochs_done", "three");
    REQUIRE(g.close());
  }
  const std::string whole = bytes_of(dir.file("ann.h5"));
  std::ofstream(dir.file("truncated.h5"), std::ios::binary) << whole.substr(0, whole.size() / 2);
}

// IDX files whose header declares Fashion-MNIST's 60000 images of 28x28 (47 MB) but whose gzip
// stream inflates to 64 MB: a reader must stop at the declared size, not inflate everything.
void make_bomb(const kspike_test::temp_dir& dir) {
  fs::create_directories(dir.file("bomb"));
  for (const char* name : {"train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"}) {
    gzFile z = gzopen(dir.file(std::string("bomb/") + name).c_str(), "wb9");
    REQUIRE(z != nullptr);
    const unsigned char header[16] = {0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 28, 0, 0, 0, 28};
    gzwrite(z, header, sizeof header);
    const std::vector<char> zeros(1 << 20, 0);
    for (int k = 0; k < 64; ++k) gzwrite(z, zeros.data(), static_cast<unsigned>(zeros.size()));
    gzclose(z);
  }
  for (const char* name : {"train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"}) {
    std::ofstream f(dir.file(std::string("bomb/") + name), std::ios::binary);
    const unsigned char header[8] = {0, 0, 8, 1, 0, 0, 0xEA, 0x60};
    f.write(reinterpret_cast<const char*>(header), 8);
    f << std::string(60000, '\1');
  }
}

struct bad_case {
  std::string id, args, says;
};

std::vector<bad_case> read_cases(const std::string& path) {
  std::vector<bad_case> out;
  std::ifstream in(path);
  std::string line;
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
  };
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto a = line.find(" | "), b = line.rfind(" | ");
    REQUIRE(a != std::string::npos);
    REQUIRE(b != a);
    out.push_back({trim(line.substr(0, a)), trim(line.substr(a + 3, b - a - 3)), trim(line.substr(b + 3))});
  }
  return out;
}

}  // namespace

TEST_CASE("bad-input corpus: exit 2, one line naming the culprit, no file created or changed", "[cli][bad_inputs]") {
  const fs::path corpus = fs::path(kspike_test::source_dir()) / "tests" / "bad_inputs";
  const auto cases = read_cases((corpus / "cases.txt").string());
  REQUIRE(cases.size() >= 60);
  kspike_test::temp_dir work, capture;
  fs::copy(corpus / "files", work.path, fs::copy_options::recursive);
  make_checkpoints(work);
  make_bomb(work);
  std::ofstream(work.file("existing.h5"), std::ios::binary) << "an earlier run's output";
  std::ofstream(work.file("metrics.csv")) << "epoch,train_loss\n1,0.5\n";
  fs::create_directories(work.file("existing_dir"));
  std::ofstream(work.file("existing_dir/keep.txt")) << "keep";
  const auto before = snapshot(work.path);
  for (const auto& c : cases) {
    const std::string cmd = "cd '" + work.path.string() + "' && OMP_PROC_BIND=false '" + kspike_test::kspike_binary() + "' " + c.args +
                            " > '" + capture.file("out") + "' 2> '" + capture.file("err") + "' < /dev/null";
    const int rc = std::system(cmd.c_str());
    const int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    const std::string err = kspike_test::read_text(capture.file("err"));
    INFO("case " << c.id << ": kspike " << c.args << "\nstderr: " << err << "stdout: " << kspike_test::read_text(capture.file("out")));
    CHECK(status == 2);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK(err.find(c.says) != std::string::npos);
    const auto after = snapshot(work.path);
    if (after != before) {
      for (const auto& [name, content] : after)
        if (!before.count(name) || before.at(name) != content) FAIL_CHECK("created or changed: " << name);
      for (const auto& [name, content] : before)
        if (!after.count(name)) FAIL_CHECK("removed: " << name);
      // Put the folder back as it was, so that one failure does not cascade.
      for (const auto& [name, content] : after)
        if (!before.count(name)) fs::remove_all(work.path / name);
    }
  }
}
