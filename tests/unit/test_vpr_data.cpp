// Place-recognition data side: image loading, the reference preprocessing (byte-identical to
// the golden files), dataset selection and the Poisson rate mapping.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "encoders/image.hpp"
#include "encoders/poisson_rates.hpp"
#include "encoders/vpr_dataset.hpp"
#include "encoders/vpr_preprocess.hpp"
#include "sim/core/error.hpp"
#include "support/fixtures.hpp"

// The test writes its own small PNGs; static, so no other test file can clash with it.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace enc = kspike::encoders;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A w x h RGB PNG whose pixel (x, y) is (x * 40 + seed, y * 60, 200 - x - y).
void write_png(const std::string& path, int w, int h, int seed = 0) {
  std::vector<unsigned char> px(std::size_t(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      unsigned char* p = &px[std::size_t((y * w + x) * 3)];
      p[0] = static_cast<unsigned char>(x * 40 + seed);
      p[1] = static_cast<unsigned char>(y * 60);
      p[2] = static_cast<unsigned char>(200 - x - y);
    }
  REQUIRE(stbi_write_png(path.c_str(), w, h, 3, px.data(), w * 3) != 0);
}

// The message of the kspike::error that f throws; fails the test when f throws nothing.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const kspike::error& e) {
    return e.what();
  }
  FAIL("no kspike::error thrown");
  return {};
}

// A kspike::error message is one line and names the offending thing.
void check_names(const std::string& message, const std::string& thing) {
  INFO("message: " << message);
  CHECK(message.find(thing) != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
}

enc::image_u8 grey_row(std::vector<std::uint8_t> values) {
  enc::image_u8 img(int(values.size()), 1, 1);
  img.data = std::move(values);
  return img;
}

}  // namespace

TEST_CASE("vpr preprocessing is byte-identical to the reference golden files", "[vpr][preprocess]") {
  if (!kspike_test::have_shared("vpr/golden/preproc/index.csv")) return;
  const std::string golden = kspike_test::shared_data("vpr/golden/preproc/");
  const std::string frames = kspike_test::shared_data("vpr/nordland64/");
  kspike_test::temp_dir tmp;

  std::ifstream index(golden + "index.csv");
  std::string line;
  std::getline(index, line);  // header
  int rows = 0;
  while (std::getline(index, line)) {
    if (line.empty()) continue;
    const auto comma = line.find(',');
    REQUIRE(comma != std::string::npos);
    const std::string source = line.substr(0, comma), expected = line.substr(comma + 1);
    INFO(source << " -> " << expected);
    const enc::image_u8 got = enc::vpr_preprocess(enc::load_image(frames + source, 3));
    REQUIRE(got.width == 28);
    REQUIRE(got.height == 28);
    REQUIRE(got.channels == 1);
    // Compare whole files: the PGM we write must equal the golden one byte for byte.
    const std::string ours = tmp.file("out.pgm");
    enc::save_pgm(got, ours);
    CHECK(slurp(ours) == slurp(golden + expected));
    ++rows;
  }
  CHECK(rows == 60);
}

TEST_CASE("resize_linear follows OpenCV INTER_LINEAR on 8-bit images", "[vpr][preprocess]") {
  SECTION("upscaling clamps at the borders and rounds in fixed point") {
    // cv2.resize(np.uint8([[0, 255]]), (4, 1)) == [[0, 64, 191, 255]]
    const enc::image_u8 out = enc::resize_linear(grey_row({0, 255}), 4, 1);
    CHECK(out.data == std::vector<std::uint8_t>{0, 64, 191, 255});
  }
  SECTION("same size is the identity") {
    const enc::image_u8 in = grey_row({0, 1, 2, 127, 128, 254, 255});
    CHECK(enc::resize_linear(in, 7, 1).data == in.data);
  }
  SECTION("channels are resized independently") {
    enc::image_u8 rgb(2, 1, 3);
    rgb.data = {0, 255, 10, 255, 0, 10};
    const enc::image_u8 out = enc::resize_linear(rgb, 4, 1);
    CHECK(out.data == std::vector<std::uint8_t>{0, 255, 10, 64, 191, 10, 191, 64, 10, 255, 0, 10});
  }
  SECTION("an empty image is an error") {
    check_names(error_of([] { enc::resize_linear(enc::image_u8{}, 28, 28); }), "resize_linear");
  }
}

TEST_CASE("rgb_to_grey uses OpenCV's fixed-point RGB2GRAY", "[vpr][preprocess]") {
  // The Nordland frames are grey stored as RGB (R = G = B), so the golden files cannot tell
  // the colour weights or the channel order apart; these pixels can.
  enc::image_u8 rgb(6, 1, 3);
  rgb.data = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 6, 238, 0, 3, 170, 51};
  // (6, 238, 0): 0.299*6 + 0.587*238 = 141.5 in real numbers, 141 in OpenCV's 14-bit fixed
  // point, 140 with R and B swapped. (3, 170, 51): 106.501 real, 106 fixed point.
  CHECK(enc::rgb_to_grey(rgb).data == std::vector<std::uint8_t>{76, 150, 29, 255, 141, 106});
  check_names(error_of([] { enc::rgb_to_grey(grey_row({1, 2})); }), "channels");
}

TEST_CASE("patch normalisation and uint8 truncation", "[vpr][preprocess]") {
  SECTION("two pixels: z = -1 and +1") {
    const auto z = enc::patch_normalise(grey_row({0, 10}), 7);
    CHECK(z == std::vector<double>{-1.0, 1.0});
    CHECK(enc::to_uint8_truncated(z, 2, 1).data == std::vector<std::uint8_t>{0, 255});
  }
  SECTION("a flat patch gives z = 0, which truncates to 127") {
    const auto z = enc::patch_normalise(grey_row({9, 9, 9}), 7);
    CHECK(z == std::vector<double>{0.0, 0.0, 0.0});
    CHECK(enc::to_uint8_truncated(z, 3, 1).data == std::vector<std::uint8_t>{127, 127, 127});
  }
  SECTION("population std, clipping and truncation") {
    // mean 10, population std sqrt(200): z = -0.7071.., -0.7071.., 1.414 -> clipped to 1.
    const auto z = enc::patch_normalise(grey_row({0, 0, 30}), 7);
    CHECK(z[0] == Approx(-0.70710678));
    CHECK(z[2] == 1.0);
    CHECK(enc::to_uint8_truncated(z, 3, 1).data == std::vector<std::uint8_t>{37, 37, 255});
  }
  SECTION("the window excludes pixels outside the image and is patch-sized inside") {
    // 1 x 9 row, patch 3: pixel 4 sees {3, 4, 5} only.
    const auto z = enc::patch_normalise(grey_row({0, 0, 0, 0, 10, 20, 0, 0, 0}), 3);
    CHECK(z[4] == Approx(0.0).margin(1e-12));  // mean 10 of {0, 10, 20}
    CHECK(z[0] == 0.0);                         // {0, 0}: flat
  }
  SECTION("bad arguments") {
    check_names(error_of([] { enc::patch_normalise(grey_row({1}), 4); }), "patch");
  }
}

TEST_CASE("Poisson rates and presentation timing of the reference", "[vpr][encoding]") {
  CHECK(enc::pixel_rate_hz(0) == 0.0);
  CHECK(enc::pixel_rate_hz(4) == 1.0);
  CHECK(enc::pixel_rate_hz(255) == 63.75);
  CHECK(enc::vpr_max_rate_hz == 63.75);
  const auto rates = enc::pixel_rates_hz(grey_row({0, 128, 255}));
  CHECK(rates == std::vector<double>{0.0, 32.0, 63.75});

  const enc::vpr_presentation_timing t;
  CHECK(t.present_ms == 350.0);
  CHECK(t.rest_ms == 150.0);
  CHECK(t.period_ms() == 500.0);
  CHECK(t.onset_ms(0) == 500.0);
  CHECK(t.onset_ms(2) == 1500.0);
  CHECK(t.count_start_ms(0) == 500.0);
  CHECK(t.count_start_ms(2) == 1350.0);  // includes the rest before image 2
  CHECK(t.count_end_ms(2) == 1850.0);
  CHECK(t.total_ms(3) == 2000.0);
}

TEST_CASE("load_image decodes PNG and PGM and rejects bad files", "[vpr][image]") {
  kspike_test::temp_dir tmp;
  const std::string png = tmp.file("tiny.png");
  write_png(png, 3, 2);

  SECTION("RGB PNG, pixel exact") {
    const enc::image_u8 img = enc::load_image(png);
    REQUIRE(img.width == 3);
    REQUIRE(img.height == 2);
    REQUIRE(img.channels == 3);
    CHECK(int(img.at(2, 1, 0)) == 80);
    CHECK(int(img.at(2, 1, 1)) == 60);
    CHECK(int(img.at(2, 1, 2)) == 197);
    CHECK(enc::load_image(png, 3).data == img.data);
    CHECK(enc::to_float(img).data[5] == float(img.data[5]));
  }
  SECTION("grey PNG loaded as RGB replicates the grey value, as cv2.imread does") {
    const std::string grey = tmp.file("grey.png");
    const unsigned char px[2] = {17, 200};
    REQUIRE(stbi_write_png(grey.c_str(), 2, 1, 1, px, 2) != 0);
    CHECK(enc::load_image(grey, 3).data == std::vector<std::uint8_t>{17, 17, 17, 200, 200, 200});
    CHECK(enc::load_image(grey).channels == 1);
  }
  SECTION("PGM round trip through save_pgm") {
    const enc::image_u8 g = grey_row({0, 7, 255});
    enc::save_pgm(g, tmp.file("g.pgm"));
    CHECK(slurp(tmp.file("g.pgm")) == std::string("P5\n3 1\n255\n\x00\x07\xff", 14));
    const enc::image_u8 back = enc::load_image(tmp.file("g.pgm"));
    CHECK(back.channels == 1);
    CHECK(back.data == g.data);
  }
  SECTION("missing file") {
    const std::string path = tmp.file("absent.png");
    check_names(error_of([&] { enc::load_image(path); }), path);
  }
  SECTION("a folder") {
    check_names(error_of([&] { enc::load_image(tmp.path.string()); }), tmp.path.string());
  }
  SECTION("empty file") {
    write_bytes(tmp.file("empty.png"), "");
    check_names(error_of([&] { enc::load_image(tmp.file("empty.png")); }), tmp.file("empty.png"));
  }
  SECTION("not an image") {
    write_bytes(tmp.file("text.png"), "this is not a PNG file at all");
    check_names(error_of([&] { enc::load_image(tmp.file("text.png")); }), tmp.file("text.png"));
  }
  SECTION("truncated PNG") {
    const std::string bytes = slurp(png);
    write_bytes(tmp.file("cut.png"), bytes.substr(0, bytes.size() / 2));
    check_names(error_of([&] { enc::load_image(tmp.file("cut.png")); }), tmp.file("cut.png"));
  }
  SECTION("truncated PGM (stb alone would return garbage pixels)") {
    write_bytes(tmp.file("cut.pgm"), std::string("P5\n# comment\n4 4\n255\n\x01\x02\x03", 24));
    check_names(error_of([&] { enc::load_image(tmp.file("cut.pgm")); }), tmp.file("cut.pgm"));
  }
  SECTION("bad channel request") {
    check_names(error_of([&] { enc::load_image(png, 5); }), png);
  }
}

TEST_CASE("vpr dataset selection on the Nordland folders", "[vpr][dataset]") {
  if (!kspike_test::have_shared("vpr/nordland64/frames.txt")) return;
  enc::vpr_dataset_options opt;
  opt.root = kspike_test::shared_data("vpr/nordland64");

  SECTION("frames.txt is used when present: the first places are its first frames") {
    opt.places = 30;
    const auto places = enc::select_vpr_places(opt);
    REQUIRE(places.size() == 30);
    const auto listed = enc::read_frame_list(opt.root + "/frames.txt");
    REQUIRE(listed.size() == 1800);
    for (std::size_t k = 0; k < places.size(); ++k) {
      CHECK(places[k].name == listed[k]);
      CHECK(places[k].label == k);
    }
    CHECK(places[0].name == "images-00210.png");
    CHECK(places[0].frame_number == 210);
  }
  SECTION("skip and offset count listed frames, across the gaps of the speed filter") {
    // Listed frames 104, 112, 120 (0-based): the list jumps from 1250 to 1810 after frame 104.
    opt.places = 3;
    opt.skip = 8;
    opt.offset = 13;
    const auto places = enc::select_vpr_places(opt);
    REQUIRE(places.size() == 3);
    CHECK(places[0].name == "images-01250.png");
    CHECK(places[1].name == "images-02040.png");
    CHECK(places[2].name == "images-02120.png");
    CHECK(places[0].label == 13);
    CHECK(places[2].label == 15);
  }
  SECTION("without a frame list every common frame counts") {
    opt.frames_file = "";
    opt.places = 3;
    opt.skip = 8;
    opt.offset = 13;
    const auto places = enc::select_vpr_places(opt);
    CHECK(places[0].name == "images-01050.png");
    CHECK(places[1].name == "images-01130.png");
    CHECK(places[2].name == "images-01210.png");
  }
  SECTION("skip 0 means every frame, like skip 1") {
    opt.places = 5;
    opt.skip = 0;
    const auto a = enc::select_vpr_places(opt);
    opt.skip = 1;
    const auto b = enc::select_vpr_places(opt);
    for (std::size_t k = 0; k < 5; ++k) CHECK(a[k].name == b[k].name);
  }
  SECTION("the last place that exists, and one more") {
    opt.skip = 8;  // 1800 listed frames -> 225 places
    opt.places = 1;
    opt.offset = 224;
    CHECK(enc::select_vpr_places(opt).at(0).name == enc::read_frame_list(opt.root + "/frames.txt").at(1792));
    opt.places = 2;
    check_names(error_of([&] { enc::select_vpr_places(opt); }), opt.root);
  }
  SECTION("reading both traversals and preprocessing them") {
    opt.places = 2;
    const enc::vpr_dataset data = enc::read_vpr_dataset(opt);
    REQUIRE(data.traversals.size() == 2);
    CHECK(data.traversals[0].name == "summer");
    CHECK(data.traversals[1].name == "winter");
    CHECK(data.width == 64);
    CHECK(data.height == 32);
    for (const auto& t : data.traversals) {
      REQUIRE(t.images.size() == 2);
      CHECK(t.images[0].channels == 3);
      const auto pre = enc::preprocess_traversal(t);
      REQUIRE(pre.size() == 2);
      if (kspike_test::have_shared("vpr/golden/preproc/index.csv")) {
        const auto golden = enc::load_image(kspike_test::shared_data("vpr/golden/preproc/" + t.name + "_images-00210.pgm"));
        CHECK(pre[0].data == golden.data);
      }
    }
  }
}

TEST_CASE("vpr dataset bad inputs are one-line errors naming the culprit", "[vpr][dataset]") {
  kspike_test::temp_dir tmp;
  const std::string root = tmp.path.string();
  const std::string summer = tmp.file("summer"), winter = tmp.file("winter");
  std::filesystem::create_directories(summer);
  std::filesystem::create_directories(winter);
  for (const char* name : {"images-00010.png", "images-00020.png", "images-00030.png"}) {
    write_png(summer + "/" + name, 8, 4, 0);
    write_png(winter + "/" + name, 8, 4, 5);
  }
  enc::vpr_dataset_options opt;
  opt.root = root;
  opt.places = 3;

  SECTION("the synthetic set itself reads") {
    const auto data = enc::read_vpr_dataset(opt);
    CHECK(data.places.size() == 3);
    CHECK(data.places[2].frame_number == 30);
    CHECK(data.traversals[1].images[0].at(0, 0, 0) == 5);
  }
  SECTION("missing root folder") {
    opt.root = tmp.file("nowhere");
    check_names(error_of([&] { enc::select_vpr_places(opt); }), opt.root);
  }
  SECTION("missing traversal folder") {
    opt.traversals = {"summer", "autumn"};
    check_names(error_of([&] { enc::select_vpr_places(opt); }), tmp.file("autumn"));
  }
  SECTION("traversal without images") {
    std::filesystem::create_directories(tmp.file("spring"));
    write_bytes(tmp.file("spring") + "/notes.txt", "no images here");
    opt.traversals = {"summer", "spring"};
    check_names(error_of([&] { enc::select_vpr_places(opt); }), tmp.file("spring"));
  }
  SECTION("no common frames between traversals") {
    std::filesystem::create_directories(tmp.file("night"));
    write_png(tmp.file("night") + "/images-99990.png", 8, 4);
    opt.traversals = {"summer", "night"};
    const std::string msg = error_of([&] { enc::select_vpr_places(opt); });
    check_names(msg, root);
    check_names(msg, "no frame name in common");
  }
  SECTION("frames.txt naming a frame a traversal lacks") {
    write_bytes(tmp.file("frames.txt"), "images-00010.png\nimages-00040.png\n");
    const std::string msg = error_of([&] { enc::select_vpr_places(opt); });
    check_names(msg, tmp.file("frames.txt"));
    check_names(msg, "images-00040.png");
  }
  SECTION("frames.txt only filters: the walk stays in sorted name order") {
    write_bytes(tmp.file("frames.txt"), "images-00030.png\r\n\n  images-00010.png\n");
    opt.places = 2;
    const auto places = enc::select_vpr_places(opt);
    CHECK(places[0].name == "images-00010.png");  // sorted name order, as the reference walks
    CHECK(places[1].name == "images-00030.png");
  }
  SECTION("an explicit frame list that is missing") {
    opt.frames_file = "subset.txt";
    check_names(error_of([&] { enc::select_vpr_places(opt); }), tmp.file("subset.txt"));
  }
  SECTION("an empty frame list") {
    write_bytes(tmp.file("frames.txt"), "\n\n");
    check_names(error_of([&] { enc::select_vpr_places(opt); }), tmp.file("frames.txt"));
  }
  SECTION("more places than the data holds") {
    opt.places = 2;
    opt.skip = 2;  // frames 10 and 30 only
    CHECK(enc::select_vpr_places(opt).size() == 2);
    opt.places = 3;
    const std::string msg = error_of([&] { enc::select_vpr_places(opt); });
    check_names(msg, root);
    check_names(msg, "3 places");
  }
  SECTION("an offset past the end") {
    opt.places = 1;
    opt.offset = 3;
    check_names(error_of([&] { enc::select_vpr_places(opt); }), root);
  }
  SECTION("zero places") {
    opt.places = 0;
    check_names(error_of([&] { enc::select_vpr_places(opt); }), "places");
  }
  SECTION("unreadable image") {
    write_bytes(winter + "/images-00020.png", "garbage, not a PNG");
    check_names(error_of([&] { enc::read_vpr_dataset(opt); }), winter + "/images-00020.png");
  }
  SECTION("truncated image") {
    const std::string bytes = slurp(summer + "/images-00030.png");
    write_bytes(summer + "/images-00030.png", bytes.substr(0, bytes.size() - 20));
    check_names(error_of([&] { enc::read_vpr_dataset(opt); }), summer + "/images-00030.png");
  }
  SECTION("mis-sized image") {
    write_png(winter + "/images-00030.png", 8, 5);
    const std::string msg = error_of([&] { enc::read_vpr_dataset(opt); });
    check_names(msg, winter + "/images-00030.png");
    check_names(msg, "8x5");
  }
}
