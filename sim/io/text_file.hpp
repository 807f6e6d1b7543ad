#pragma once
// Reading a whole input file (a network, experiment or model config) with the checks a user's
// mistake calls for: a path that is a folder, a device or a never-ending stream (/dev/zero, a
// FIFO), or a file far larger than any config, is refused with one line before anything is read.
#include <cstddef>
#include <string>

namespace kspike::io {

// Configs are a few kilobytes; 16 MiB leaves room for long lists written inline.
constexpr std::size_t max_config_bytes = std::size_t{16} << 20;

// The file's text; throws kspike::error("PATH: what") when it is missing, not a regular file,
// larger than max_bytes, or unreadable.
std::string read_text_file(const std::string& path, std::size_t max_bytes = max_config_bytes);

// The same checks without reading (for readers that stream a file line by line).
void check_input_file(const std::string& path, std::size_t max_bytes);

// PATH.tmp (or PATH + suffix), cleared for a new file: whatever an earlier run left there (a temporary of a run
// that was killed, or a link someone put in its place) is removed, so that creating it makes a
// new file and never writes through a link; a folder there is refused (kspike::error).
std::string temporary_for(const std::string& path, const std::string& suffix = ".tmp");

// Writes `text` to PATH.tmp and renames it to PATH, so that PATH is either the old file or the
// complete new one; throws kspike::error("PATH: cannot write") and removes PATH.tmp on failure.
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace kspike::io
