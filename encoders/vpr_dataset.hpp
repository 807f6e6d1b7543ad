#pragma once
// Reader for a place-recognition data set: two or more traversals of the same route (e.g.
// summer/ and winter/), one folder each, whose frames are aligned by file name
// (images-NNNNN.png is the same place in every traversal), plus an optional frames.txt that
// lists the usable frames (docs/vpr.md "The Nordland copy" describes the one used there).
//
// Place selection follows the reference (QVPR/VPRSNN tools/data_utils.py processImageDataset,
// docs/vpr.md "What is read"): walk the frames in sorted name order, keep those in the frame
// list, keep every `skip`-th of them (the 1st, the skip+1-th, ...), drop the first `offset` of the survivors and
// take the next `places`. Labels count from `offset`, as the reference's do.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "encoders/image.hpp"
#include "encoders/vpr_preprocess.hpp"

namespace kspike::encoders {

struct vpr_dataset_options {
  std::string root;                                        // folder holding the traversal folders
  std::vector<std::string> traversals{"summer", "winter"}; // sub-folders of root (or absolute paths)
  // Frame list: unset = root/frames.txt when that file exists, else every common frame;
  // "" = never use one; otherwise a path (relative to root, or absolute) that must exist.
  std::optional<std::string> frames_file;
  std::size_t places = 100;  // how many places to return (>= 1)
  std::size_t skip = 1;      // keep every skip-th listed frame; 0 means 1 (the reference's non-Nordland default)
  std::size_t offset = 0;    // places dropped after skipping; also the first label
};

// One selected place, the same in every traversal.
struct vpr_place {
  std::string name;           // file name, e.g. "images-00210.png"
  long frame_number = -1;     // the digits of the name (210), -1 if it has none
  std::size_t label = 0;      // offset + position in the selection
};

struct vpr_traversal {
  std::string name;                // as given in the options, e.g. "summer"
  std::string dir;                 // the folder read
  std::vector<image_u8> images;    // RGB, images[k] is places[k]
};

struct vpr_dataset {
  std::vector<vpr_place> places;
  std::vector<vpr_traversal> traversals;
  int width = 0;   // every image has this size (checked)
  int height = 0;
};

// The image files of a folder, sorted by name (byte order, as Python's sorted listdir):
// .png, .jpg, .jpeg, .pgm, .ppm in any letter case. Throws kspike::error when `dir` is not a folder.
std::vector<std::string> list_images(const std::string& dir);

// The names of a frame list file: one per line, surrounding blanks trimmed, blank lines skipped.
std::vector<std::string> read_frame_list(const std::string& path);

// Chooses the places (names and labels) without reading any pixel. Throws kspike::error for a
// missing folder or frame list, a frame list naming a frame a traversal lacks, traversals
// without a common frame, places = 0, or more places than the data holds.
std::vector<vpr_place> select_vpr_places(const vpr_dataset_options& options);

// select_vpr_places, then every selected frame of every traversal decoded as RGB (as
// cv2.imread(path)[:,:,::-1]). Also throws for an unreadable image and for one whose size
// differs from the first image read.
vpr_dataset read_vpr_dataset(const vpr_dataset_options& options);

// vpr_preprocess applied to each image of one traversal.
std::vector<image_u8> preprocess_traversal(const vpr_traversal& traversal, const vpr_preprocess_params& params = {});

}  // namespace kspike::encoders
