# install_test.cmake - run by the CTest test "install" as cmake -P: installs
# BUILD_DIR into PREFIX and checks what a user of that prefix gets:
#   (1) libgpugc.so: its SONAME and its DT_NEEDED entries (no libstdc++, no
#       CUDA runtime: that is linked in; OpenCL's loader when built with it);
#   (2) CONSUMER_DIR, built with find_package(gpugc) against PREFIX, its
#       programs linked with gpugc::gpugc (the shared library) and
#       gpugc::gpugc_static, and run;
#   (3) README's quick start, taken from README: its demo.c, built with the
#       `cc demo.c ...` command lines of its sh blocks, run as they are
#       (the shared library's and the static library's), and built with its
#       CMake project; each program must print what README says it prints.
# Inputs: BUILD_DIR CONFIG PREFIX LIBDIR WORK_DIR CONSUMER_DIR README
#         C_COMPILER PKG_CONFIG READELF (empty: no ELF checks) SONAME
#         (libgpugc.so.N) USES_OPENCL SANITIZE (as GPUGC_SANITIZE)
cmake_minimum_required(VERSION 3.24)

# Runs a command; stops the test with `what` if it fails.
function(step what)
  message(STATUS "install test: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (${rc}): ${ARGN}")
  endif()
endfunction()

# The DT_NEEDED entries of an ELF file, into `out`.
function(needed file out)
  execute_process(COMMAND ${READELF} -d ${file} OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: readelf -d ${file} failed")
  endif()
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*" lines "${dyn}")
  set(names "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE ".*\\[(.*)\\].*" "\\1" name "${line}")
    list(APPEND names ${name})
  endforeach()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# Checks that `program` needs libgpugc.so (shared ON) or not (OFF).
function(check_link program shared)
  if(NOT READELF)
    return()
  endif()
  needed(${program} names)
  if(shared AND NOT SONAME IN_LIST names)
    message(FATAL_ERROR "install test: ${program} does not need ${SONAME}: ${names}")
  elseif(NOT shared AND SONAME IN_LIST names)
    message(FATAL_ERROR "install test: ${program}, linked statically, needs ${SONAME}")
  endif()
endfunction()

# Checks a quick-start program's output: the two objects of its cycle
# destroyed, then the count README's comment gives.
function(check_demo_output what output)
  if(NOT output STREQUAL "freed\nfreed\nfound 2\n")
    message(FATAL_ERROR "install test: ${what} printed\n${output}\nnot README's \"freed\" twice, then \"found 2\"")
  endif()
endfunction()

file(REMOVE_RECURSE ${PREFIX} ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
if(CONFIG)
  set(config_args --config ${CONFIG})
  set(build_type_arg -DCMAKE_BUILD_TYPE=${CONFIG})
endif()
# A sanitized library needs the sanitizer runtime in every program (first
# in the load order, for ASan).
if(SANITIZE)
  set(sanitize_flags -fsanitize=${SANITIZE})
endif()
set(libdir ${PREFIX}/${LIBDIR})

step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
     ${config_args})

# (1) The installed libraries.
foreach(file libgpugc.a libgpugc.so ${SONAME})
  if(NOT EXISTS ${libdir}/${file})
    message(FATAL_ERROR "install test: ${libdir}/${file} was not installed")
  endif()
endforeach()
if(READELF)
  needed(${libdir}/libgpugc.so so_needed)
  message(STATUS "install test: libgpugc.so needs ${so_needed}")
  foreach(name IN LISTS so_needed)
    if(name MATCHES "^lib(stdc\\+\\+|cudart)")
      message(FATAL_ERROR "install test: libgpugc.so needs ${name}")
    endif()
  endforeach()
  if(USES_OPENCL AND NOT "libOpenCL.so.1" IN_LIST so_needed)
    message(FATAL_ERROR "install test: libgpugc.so, built with OpenCL, does not need libOpenCL.so.1")
  endif()
  execute_process(COMMAND ${READELF} -d ${libdir}/libgpugc.so OUTPUT_VARIABLE dyn)
  if(NOT dyn MATCHES "\\(SONAME\\)[^\n]*\\[${SONAME}\\]")
    message(FATAL_ERROR "install test: libgpugc.so's SONAME is not ${SONAME}")
  endif()
endif()

# (2) The consumer project, through find_package and CMAKE_PREFIX_PATH; its
# programs run from their build tree, through the RUNPATH CMake gives them.
set(cmake_dir ${WORK_DIR}/cmake)
step("configure the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${cmake_dir}
     -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_C_COMPILER=${C_COMPILER} ${build_type_arg}
     "-DCMAKE_C_FLAGS=${sanitize_flags}" "-DCMAKE_EXE_LINKER_FLAGS=${sanitize_flags}")
file(STRINGS ${cmake_dir}/CMakeCache.txt found REGEX "^gpugc_DIR:")
string(FIND "${found}" "${PREFIX}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "install test: find_package(gpugc) did not use ${PREFIX}: ${found}")
endif()
step("build the consumer" ${CMAKE_COMMAND} --build ${cmake_dir} ${config_args})
check_link(${cmake_dir}/consumer ON)
check_link(${cmake_dir}/consumer_static OFF)
step("run the consumer" ${CMAKE_COMMAND} -E chdir ${cmake_dir}
     ${CMAKE_CTEST_COMMAND} ${config_args} --output-on-failure)

# (3) README's quick start: its section, up to the next heading.
file(READ ${README} readme)
string(FIND "${readme}" "\n## Quick start\n" at)
if(at EQUAL -1)
  message(FATAL_ERROR "install test: ${README} has no \"## Quick start\" section")
endif()
string(SUBSTRING "${readme}" ${at} -1 quick)
string(SUBSTRING "${quick}" 1 -1 quick)
string(FIND "${quick}" "\n## " at)
string(SUBSTRING "${quick}" 0 ${at} quick)
# The section's first ```lang block, into `out`.
function(readme_block lang out)
  string(FIND "${quick}" "\n```${lang}\n" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "install test: README's quick start has no ```${lang} block")
  endif()
  string(LENGTH "\n```${lang}\n" skip)
  math(EXPR at "${at} + ${skip}")
  string(SUBSTRING "${quick}" ${at} -1 body)
  string(FIND "${body}" "\n```" at)
  math(EXPR at "${at} + 1")
  string(SUBSTRING "${body}" 0 ${at} body)
  set(${out} "${body}" PARENT_SCOPE)
endfunction()
readme_block(c demo_c)
readme_block(cmake demo_cmake)

# The README's CMake project, as written, with demo.c beside it.
set(readme_cmake ${WORK_DIR}/readme-cmake)
file(WRITE ${readme_cmake}/demo.c "${demo_c}")
file(WRITE ${readme_cmake}/CMakeLists.txt "${demo_cmake}")
step("configure README's CMake project" ${CMAKE_COMMAND} -S ${readme_cmake}
     -B ${readme_cmake}/build -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_C_COMPILER=${C_COMPILER}
     ${build_type_arg} "-DCMAKE_C_FLAGS=${sanitize_flags}"
     "-DCMAKE_EXE_LINKER_FLAGS=${sanitize_flags}")
step("build README's CMake project" ${CMAKE_COMMAND} --build ${readme_cmake}/build ${config_args})
file(GLOB_RECURSE demo_exe ${readme_cmake}/build/demo ${readme_cmake}/build/*/demo)
if(NOT demo_exe)
  message(FATAL_ERROR "install test: README's CMake project made no program demo")
endif()
list(GET demo_exe 0 demo_exe)
check_link(${demo_exe} ON)
execute_process(COMMAND ${demo_exe} OUTPUT_VARIABLE output RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install test: README's CMake demo failed (${rc})")
endif()
check_demo_output("README's CMake demo" "${output}")

# README's command lines: every line of the section that starts with
# "cc demo.c", run by sh as written, where pkg-config finds PREFIX (README:
# PKG_CONFIG_PATH for a prefix pkg-config does not search).  cc is this
# build's compiler, with the sanitizers of a sanitized build.
set(ENV{PKG_CONFIG_PATH} ${libdir}/pkgconfig)
foreach(module gpugc gpugc-static)
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${module}
                  OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  string(FIND "${pc_flags}" "${PREFIX}/" at)
  if(NOT rc EQUAL 0 OR at EQUAL -1)
    message(FATAL_ERROR "install test: pkg-config's ${module} does not point into ${PREFIX}: ${pc_flags}")
  endif()
endforeach()
string(REGEX MATCHALL "\ncc demo\\.c [^\n]*" commands "${quick}")
list(LENGTH commands count)
if(NOT count EQUAL 2)
  message(FATAL_ERROR "install test: README's quick start has ${count} `cc demo.c` lines, not 2 (the shared and the static library's)")
endif()
foreach(command IN LISTS commands)
  string(STRIP "${command}" command)
  if(command MATCHES "gpugc-static")
    set(shared OFF)
    set(kind static)
  else()
    set(shared ON)
    set(kind shared)
  endif()
  set(dir ${WORK_DIR}/readme-pkg-config-${kind})
  file(WRITE ${dir}/demo.c "${demo_c}")
  # The command as README gives it, in a script of its own after the cc
  # function, run by sh where README's reader runs it: beside demo.c.
  file(WRITE ${dir}/build.sh "cc() {\n  \"\$GPUGC_CC\" \$GPUGC_CC_FLAGS \"\$@\"\n}\n${command}\n")
  set(ENV{GPUGC_CC} "${C_COMPILER}")
  set(ENV{GPUGC_CC_FLAGS} "${sanitize_flags}")
  message(STATUS "install test: README's command: ${command}")
  execute_process(COMMAND sh build.sh WORKING_DIRECTORY ${dir} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: README's command failed (${rc}): ${command}")
  endif()
  if(NOT EXISTS ${dir}/demo)
    message(FATAL_ERROR "install test: `${command}` made no ./demo")
  endif()
  check_link(${dir}/demo ${shared})
  # The shared library's program finds it through LD_LIBRARY_PATH (README);
  # the static library's needs nothing.
  if(shared)
    set(run_env LD_LIBRARY_PATH=${libdir})
  else()
    set(run_env LD_LIBRARY_PATH=)
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${run_env} ./demo WORKING_DIRECTORY ${dir}
                  OUTPUT_VARIABLE output RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: the demo of `${command}` failed (${rc})")
  endif()
  check_demo_output("the demo of `${command}`" "${output}")
  message(STATUS "install test: README's ${kind} build ran: ${command}")
endforeach()
