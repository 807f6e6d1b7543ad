// A compiler defect, shown outside kspike: GCC 12.2 (Debian 12's g++) with -fsanitize=shift,
// which -fsanitize=undefined includes, miscompiles a subscript whose array operand is a
// conditional expression and whose index is an instrumented shift:
//
//   (c ? p : q)[i >> 1] += x;
//
// The program is well defined. GCC's C++ front end rewrites `(c ? p : q)[k]` as
// `c ? p[k] : q[k]`; the shift check saves `i >> 1` in a temporary that is then computed in
// the first arm only, so the second arm indexes with an uninitialised value: the write goes
// elsewhere (or faults at -O0) and no sanitizer reports it. Clang 14, and GCC without the shift
// check, are correct. kspike's delivery kernel had this shape (sim/engine_impl.hpp) and lost
// excitatory input in every sanitizer build.
//
//   g++ -O2 -fsanitize=shift gcc_ubsan_conditional_subscript.cpp && ./a.out   # exit 1: defect
//   g++ -O2 gcc_ubsan_conditional_subscript.cpp && ./a.out                    # exit 0
//
// scripts/check-builds compiles and runs it to report whether the compiler in use has it.
#include <cstdio>

float even_cells[4], odd_cells[4];

__attribute__((noinline)) void add(int cell, float x) {
  (cell & 1 ? odd_cells : even_cells)[cell >> 1] += x;  // the defective shape
}

__attribute__((noinline)) void add_named(int cell, float x) {
  float* const cells = (cell & 1) ? odd_cells : even_cells;  // kspike's shape since the fix
  cells[cell >> 1] += x;
}

int main() {
  add(4, 1.0f);  // even_cells[2] += 1
  add(5, 2.0f);  // odd_cells[2] += 2
  const bool conditional_ok = even_cells[2] == 1.0f && odd_cells[2] == 2.0f;
  even_cells[2] = odd_cells[2] = 0;
  add_named(4, 1.0f);
  add_named(5, 2.0f);
  const bool named_ok = even_cells[2] == 1.0f && odd_cells[2] == 2.0f;
  std::printf("(c ? p : q)[i >> 1] += x: %s; through a named pointer: %s\n",
              conditional_ok ? "correct" : "MISCOMPILED", named_ok ? "correct" : "MISCOMPILED");
  return conditional_ok && named_ok ? 0 : 1;
}
