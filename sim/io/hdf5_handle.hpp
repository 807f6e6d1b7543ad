#pragma once
// Internal: an owning wrapper for HDF5 identifiers, so every early return or exception
// closes what was opened (an open object keeps the file open and blocks the final rename).
#include <hdf5.h>

#include <string>
#include <type_traits>
#include <vector>

#include "sim/core/error.hpp"

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

// The HDF5 memory type of T (the types the project's files hold).
template <class T>
hid_t native_type() {
  if constexpr (std::is_same<T, float>::value) return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same<T, double>::value) return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same<T, int>::value) return H5T_NATIVE_INT;
  else {
    static_assert(std::is_same<T, unsigned long long>::value, "native_type: float, double, int or unsigned long long");
    return H5T_NATIVE_ULLONG;
  }
}

// Writes n = Π dims values of `data` (row-major) as dataset `name` of loc; errors name `path`.
template <class T>
void write_array(hid_t loc, const std::string& name, const T* data, const std::vector<hsize_t>& dims, const std::string& path) {
  handle space = dataspace(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  handle ds = dataset(H5Dcreate2(loc, name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!ds) throw error(path + ": cannot create dataset " + name);
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  if (n > 0 && H5Dwrite(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw error(path + ": HDF5 failed writing " + name);
}
template <class T>
void write_array(hid_t loc, const std::string& name, const std::vector<T>& v, const std::vector<hsize_t>& dims,
                 const std::string& path) {
  write_array(loc, name, v.data(), dims, path);
}

// Reads dataset `name` of loc into out[0, expected): it must exist and hold exactly that many values.
template <class T>
void read_array(hid_t loc, const std::string& name, T* out, std::size_t expected, const std::string& path, int rank = -1) {
  if (H5Lexists(loc, name.c_str(), H5P_DEFAULT) <= 0) throw error(path + ": " + name + ": missing");
  handle ds = dataset(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!ds) throw error(path + ": " + name + ": not a dataset");
  handle space = dataspace(H5Dget_space(ds.get()));
  if (rank >= 0 && H5Sget_simple_extent_ndims(space.get()) != rank)
    throw error(path + ": " + name + ": expected " + std::to_string(rank) + " dimension(s), found " +
                std::to_string(H5Sget_simple_extent_ndims(space.get())));
  {  // numbers only: a string or compound dataset is not silently converted
    handle type = datatype(H5Dget_type(ds.get()));
    const H5T_class_t c = H5Tget_class(type.get());
    if (c != H5T_INTEGER && c != H5T_FLOAT) throw error(path + ": " + name + ": not a numeric array");
  }
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0 || static_cast<std::size_t>(n) != expected)
    throw error(path + ": " + name + ": expected " + std::to_string(expected) + " values, found " + std::to_string(n));
  if (expected > 0 && H5Dread(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    throw error(path + ": " + name + ": cannot be read");
}
template <class T>
std::vector<T> read_array(hid_t loc, const std::string& name, std::size_t expected, const std::string& path) {
  std::vector<T> v(expected);
  read_array(loc, name, v.data(), expected, path);
  return v;
}

// A string attribute written by write_string_attribute (or h5py); errors name `path`.
inline std::string read_string_attribute(hid_t loc, const char* name, const std::string& path) {
  if (H5Aexists(loc, name) <= 0) throw error(path + ": attribute " + name + " missing");
  handle a = attribute(H5Aopen(loc, name, H5P_DEFAULT));
  handle type = datatype(H5Aget_type(a.get()));
  const std::size_t n = H5Tget_size(type.get());
  std::string s(n, '\0');
  handle mt = datatype(H5Tcopy(H5T_C_S1));
  H5Tset_size(mt.get(), n);
  if (H5Aread(a.get(), mt.get(), s.data()) < 0) throw error(path + ": attribute " + name + " unreadable");
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

}  // namespace kspike::io::h5
