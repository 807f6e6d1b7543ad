#pragma once
// Internal: an owning wrapper for HDF5 identifiers, so every early return or exception
// closes what was opened (an open object keeps the file open and blocks the final rename).
#include <hdf5.h>

namespace kspike::io::h5 {

class handle {
 public:
  using closer = herr_t (*)(hid_t);

  handle() = default;
  handle(hid_t id, closer close_fn) : id_(id), close_(close_fn) {}
  ~handle() { reset(); }
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;
  handle(handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = H5I_INVALID_HID; }
  handle& operator=(handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      close_ = other.close_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }

  hid_t get() const { return id_; }
  // HDF5 reports failure with a negative identifier.
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Closes now; returns false if HDF5 reported an error (e.g. a failed final flush).
  bool close() {
    bool ok = true;
    if (id_ >= 0 && close_) ok = close_(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }
  void reset() { close(); }

 private:
  hid_t id_ = H5I_INVALID_HID;
  closer close_ = nullptr;
};

inline handle file(hid_t id) { return handle(id, H5Fclose); }
inline handle group(hid_t id) { return handle(id, H5Gclose); }
inline handle dataset(hid_t id) { return handle(id, H5Dclose); }
inline handle dataspace(hid_t id) { return handle(id, H5Sclose); }
inline handle datatype(hid_t id) { return handle(id, H5Tclose); }
inline handle attribute(hid_t id) { return handle(id, H5Aclose); }
inline handle plist(hid_t id) { return handle(id, H5Pclose); }
inline handle object(hid_t id) { return handle(id, H5Oclose); }

}  // namespace kspike::io::h5
