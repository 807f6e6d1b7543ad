#pragma once
// Writes a fuzzer-chosen dataset or attribute into an HDF5 file: the type (integers of several
// widths, floats, fixed strings), the rank (0 to 3), the extents and the values all come from
// the input. The HDF5 library writes a well-formed file; what is fuzzed is what kspike finds in
// it, which is what its readers must check (HDF5's own parser is not kspike's to fix).
#include <hdf5.h>

#include <cstring>
#include <string>
#include <vector>

#include "fuzz_bytes.hpp"

namespace kspike_fuzz {

inline hid_t pick_type(bytes& in) {
  static const hid_t* types[] = {&H5T_NATIVE_INT8_g, &H5T_NATIVE_UINT16_g, &H5T_NATIVE_INT32_g, &H5T_NATIVE_UINT32_g,
                                 &H5T_NATIVE_INT64_g, &H5T_NATIVE_UINT64_g, &H5T_NATIVE_FLOAT_g, &H5T_NATIVE_DOUBLE_g};
  const unsigned k = in.pick(9);
  if (k == 8) {
    const hid_t s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, 1 + in.pick(12));
    return s;
  }
  return H5Tcopy(*types[k]);
}

// A dataset `name` under `loc` (groups on the path are created).
inline void write_dataset(hid_t loc, const std::string& name, bytes& in) {
  const hid_t type = pick_type(in);
  const int rank = static_cast<int>(in.pick(4));
  hsize_t dims[3] = {1, 1, 1};
  hsize_t count = 1;
  for (int r = 0; r < rank; ++r) {
    dims[r] = in.pick(9);
    count *= dims[r];
  }
  const hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, nullptr);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  const hid_t ds = H5Dcreate2(loc, name.c_str(), type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  if (ds >= 0) {
    std::vector<unsigned char> buf(count * H5Tget_size(type));
    for (std::size_t k = 0; k < buf.size(); ++k) buf[k] = in.byte();
    if (H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 8 && in.flip())
      for (std::size_t k = 0; k < count; ++k) {  // plausible values too, not only random bits
        const double v = double(in.pick(200)) * 0.25 - 5;
        std::memcpy(buf.data() + 8 * k, &v, 8);
      }
    H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
    H5Dclose(ds);
  }
  H5Pclose(lcpl);
  H5Sclose(space);
  H5Tclose(type);
}

// An attribute `name` on `loc`: a string from the input, or a number of a chosen type.
inline void write_attribute(hid_t loc, const char* name, bytes& in, const std::vector<std::string>& likely = {}) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  if (in.flip()) {
    const std::string v = !likely.empty() && in.flip() ? likely[in.pick(static_cast<unsigned>(likely.size()))] : in.text(24);
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, v.size() + 1);
    const hid_t sp = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
      H5Awrite(a, t, v.c_str());
      H5Aclose(a);
    }
    H5Sclose(sp);
    H5Tclose(t);
    return;
  }
  const hid_t t = pick_type(in);
  const hid_t sp = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) {
    std::vector<unsigned char> buf(H5Tget_size(t));
    for (auto& b : buf) b = in.byte();
    H5Awrite(a, t, buf.data());
    H5Aclose(a);
  }
  H5Sclose(sp);
  H5Tclose(t);
}

}  // namespace kspike_fuzz
