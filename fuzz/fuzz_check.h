// CHECK for fuzz targets: an invariant that must hold for every input.
// Unlike assert it stays on in every build, and abort() is what libFuzzer
// and the replay main both report as a crash with its input.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                          \
    }                                                                        \
  } while (0)
