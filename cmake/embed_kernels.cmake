# embed_kernels.cmake - run as `cmake -P` at build time: writes the kernel
# sources into a C file as string literals, so the library needs no file at
# run time.  Inputs: OUT (the C file), SOURCES (the files, in compile order,
# separated by '|': a ';' would split the command line), NAME (the array).
# Each file becomes one string of `const char *const NAME[]`, and
# NAME_count gives their number, ready for clCreateProgramWithSource.
cmake_minimum_required(VERSION 3.24)

string(REPLACE "|" ";" files "${SOURCES}")
set(body "")
set(count 0)
foreach(file IN LISTS files)
  file(READ ${file} text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "\n" "\\n\"\n    \"" text "${text}")
  get_filename_component(name ${file} NAME)
  string(APPEND body "    /* ${name} */\n    \"${text}\",\n")
  math(EXPR count "${count} + 1")
endforeach()
set(content "/* Generated from kernels/ by cmake/embed_kernels.cmake; do not edit. */
#include <stddef.h>

extern const char *const ${NAME}[];
extern const size_t ${NAME}_count;

const char *const ${NAME}[] = {
${body}};
const size_t ${NAME}_count = ${count};
")
# Rewritten only when it changed, so an unchanged kernel set rebuilds nothing.
file(CONFIGURE OUTPUT ${OUT} CONTENT "${content}" @ONLY)
