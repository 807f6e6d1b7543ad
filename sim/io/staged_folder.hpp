#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>

namespace kspike::io {

// An output folder filled in a hidden sibling (.NAME.partial-PID) and moved into place only
// when the command has completed: a failure (bad data, a full disk, an interrupt) leaves the
// folder, new or earlier, as it was, and removes the temporaries.
class staged_folder {
 public:
  explicit staged_folder(std::string target) : target_(std::move(target)) {
    while (target_.size() > 1 && target_.back() == '/') target_.pop_back();
    const std::filesystem::path t(target_);
    stage_ = (t.parent_path() / ("." + t.filename().string() + ".partial-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(stage_);
  }
  staged_folder(const staged_folder&) = delete;
  staged_folder& operator=(const staged_folder&) = delete;
  ~staged_folder() {
    std::error_code ec;
    if (!committed_) std::filesystem::remove_all(stage_, ec);
  }
  // A file's path while the command runs.
  std::string file(const std::string& name) const { return (std::filesystem::path(stage_) / name).string(); }
  // Its path once committed.
  std::string final_file(const std::string& name) const { return (std::filesystem::path(target_) / name).string(); }
  void commit() {
    std::filesystem::create_directories(target_);
    for (const auto& e : std::filesystem::directory_iterator(stage_)) std::filesystem::rename(e.path(), std::filesystem::path(target_) / e.path().filename());
    std::filesystem::remove(stage_);
    committed_ = true;
  }

 private:
  std::string target_, stage_;
  bool committed_ = false;
};

}  // namespace kspike::io
