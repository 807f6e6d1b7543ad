#pragma once
// Internal: an owning wrapper for HDF5 identifiers, so every early return or exception
// closes what was opened (an open object keeps the file open and blocks the final rename).
#include <hdf5.h>

#include <string>

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

// Silences HDF5's own error printing while alive (our messages say what failed), and restores
// whatever handler was installed before.
class quiet_errors {
 public:
  quiet_errors() {
    H5Eget_auto2(H5E_DEFAULT, &fn_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~quiet_errors() { H5Eset_auto2(H5E_DEFAULT, fn_, data_); }
  quiet_errors(const quiet_errors&) = delete;
  quiet_errors& operator=(const quiet_errors&) = delete;

 private:
  H5E_auto2_t fn_ = nullptr;
  void* data_ = nullptr;
};

// A scalar fixed-length string attribute (h5py reads it as bytes/str). Returns false on failure.
inline bool write_string_attribute(hid_t loc, const char* name, const std::string& value) {
  handle type = datatype(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), value.empty() ? 1 : value.size());
  handle space = dataspace(H5Screate(H5S_SCALAR));
  handle a = attribute(H5Acreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  return a && H5Awrite(a.get(), type.get(), value.empty() ? "" : value.data()) >= 0;
}

}  // namespace kspike::io::h5
