#include "encoders/vpr_dataset.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unordered_set>

#include "sim/core/error.hpp"

namespace kspike::encoders {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const std::string& message) {
  throw kspike::error((what.empty() ? std::string("<vpr data set>") : what) + ": " + message);
}

std::string resolve(const std::string& root, const std::string& path) {
  const fs::path p(path);
  return p.is_absolute() ? p.string() : (fs::path(root) / p).string();
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_image_name(const std::string& name) {
  const std::string ext = lower(fs::path(name).extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".pgm" || ext == ".ppm";
}

// The reference turns a frame name into a number by keeping its digits ("images-00210.png" ->
// 210); -1 when there are none (or too many to be a frame number).
long frame_number_of(const std::string& name) {
  long n = 0;
  int digits = 0;
  for (char c : name) {
    if (!std::isdigit(static_cast<unsigned char>(c))) continue;
    if (++digits > 15) return -1;
    n = n * 10 + (c - '0');
  }
  return digits == 0 ? -1 : n;
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

// Names present in every listing (each sorted), in sorted order.
std::vector<std::string> common_names(const std::vector<std::vector<std::string>>& listings) {
  std::vector<std::string> common = listings.front();
  for (std::size_t t = 1; t < listings.size(); ++t) {
    std::vector<std::string> both;
    std::set_intersection(common.begin(), common.end(), listings[t].begin(), listings[t].end(), std::back_inserter(both));
    common.swap(both);
  }
  return common;
}

// The frame list in use, if any: unset = root/frames.txt when present, "" = none.
std::optional<std::string> frame_list_path(const vpr_dataset_options& options) {
  if (!options.frames_file) {
    const std::string fallback = resolve(options.root, "frames.txt");
    std::error_code ec;
    if (fs::is_regular_file(fallback, ec)) return fallback;
    return std::nullopt;
  }
  if (options.frames_file->empty()) return std::nullopt;
  return resolve(options.root, *options.frames_file);
}

// The frames selection walks: the common frames in sorted order, restricted to the frame list.
// A listed frame that some traversal lacks is an error rather than a silent gap, since it
// means the list and the folders disagree about the data.
std::vector<std::string> candidate_frames(const vpr_dataset_options& options) {
  std::error_code ec;
  if (!fs::is_directory(options.root, ec))
    fail(options.root, fs::exists(options.root, ec) ? "not a folder (the data set root)" : "no such folder (the data set root)");
  if (options.traversals.empty()) fail(options.root, "no traversal folders given");
  std::vector<std::vector<std::string>> listings;
  for (const std::string& t : options.traversals) {
    const std::string dir = resolve(options.root, t);
    listings.push_back(list_images(dir));
    if (listings.back().empty()) fail(dir, "no images (.png, .jpg, .jpeg, .pgm, .ppm) in traversal '" + t + "'");
  }
  std::vector<std::string> common = common_names(listings);
  if (common.empty()) fail(options.root, "traversals " + join(options.traversals) + " have no frame name in common");

  const std::optional<std::string> list_path = frame_list_path(options);
  if (!list_path) return common;
  const std::vector<std::string> listed = read_frame_list(*list_path);
  for (const std::string& name : listed) {
    for (std::size_t t = 0; t < listings.size(); ++t) {
      if (!std::binary_search(listings[t].begin(), listings[t].end(), name)) {
        fail(*list_path, "lists " + name + ", which traversal '" + options.traversals[t] + "' (" +
                             resolve(options.root, options.traversals[t]) + ") lacks");
      }
    }
  }
  const std::unordered_set<std::string> keep(listed.begin(), listed.end());
  std::vector<std::string> kept;
  for (const std::string& name : common)
    if (keep.count(name)) kept.push_back(name);
  return kept;
}

image_u8 load_frame(const std::string& path, int& width, int& height, std::string& first_path) {
  image_u8 img = load_image(path, 3);  // cv2.imread's colour conversion
  if (width == 0) {
    width = img.width;
    height = img.height;
    first_path = path;
  } else if (img.width != width || img.height != height) {
    fail(path, "image is " + std::to_string(img.width) + "x" + std::to_string(img.height) + ", expected " +
                   std::to_string(width) + "x" + std::to_string(height) + " like " + first_path);
  }
  return img;
}

}  // namespace

std::vector<std::string> list_images(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail(dir, "no such folder");
  if (!fs::is_directory(dir, ec)) fail(dir, "not a folder");
  std::vector<std::string> names;
  // The error_code forms throughout: a file system problem must surface as a kspike::error
  // naming the folder, not as std::filesystem_error.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (is_image_name(name) && it->is_regular_file(type_ec)) names.push_back(name);
  }
  if (ec) fail(dir, "cannot list folder: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> read_frame_list(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(path, "no such file (frame list)");
  std::ifstream in(path);
  if (!in) fail(path, "cannot open frame list");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto last = line.find_last_not_of(" \t\r");
    names.push_back(line.substr(first, last - first + 1));
  }
  if (in.bad()) fail(path, "read error");
  if (names.empty()) fail(path, "frame list names no frames");
  return names;
}

std::vector<vpr_place> select_vpr_places(const vpr_dataset_options& options) {
  if (options.places == 0) fail(options.root, "places must be at least 1");
  const std::vector<std::string> frames = candidate_frames(options);
  const std::size_t skip = std::max<std::size_t>(options.skip, 1);
  const std::size_t after_skip = (frames.size() + skip - 1) / skip;  // frames 0, skip, 2*skip, ...
  if (options.offset >= after_skip || options.places > after_skip - options.offset) {
    fail(options.root, "asks for " + std::to_string(options.places) + " places at offset " + std::to_string(options.offset) +
                           " with skip " + std::to_string(skip) + ", but the " + std::to_string(frames.size()) +
                           " usable frames give only " + std::to_string(after_skip) + " places");
  }
  std::vector<vpr_place> places;
  places.reserve(options.places);
  for (std::size_t k = 0; k < options.places; ++k) {
    const std::string& name = frames[(options.offset + k) * skip];
    places.push_back({name, frame_number_of(name), options.offset + k});
  }
  return places;
}

vpr_dataset read_vpr_dataset(const vpr_dataset_options& options) {
  vpr_dataset data;
  data.places = select_vpr_places(options);
  std::string first_path;
  for (const std::string& t : options.traversals) {
    vpr_traversal trav{t, resolve(options.root, t), {}};
    trav.images.reserve(data.places.size());
    for (const vpr_place& p : data.places)
      trav.images.push_back(load_frame(resolve(trav.dir, p.name), data.width, data.height, first_path));
    data.traversals.push_back(std::move(trav));
  }
  return data;
}

std::vector<image_u8> preprocess_traversal(const vpr_traversal& traversal, const vpr_preprocess_params& params) {
  std::vector<image_u8> out;
  out.reserve(traversal.images.size());
  for (const image_u8& img : traversal.images) out.push_back(vpr_preprocess(img, params));
  return out;
}

}  // namespace kspike::encoders
