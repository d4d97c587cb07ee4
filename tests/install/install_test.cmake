# install_test.cmake - run by the CTest test "install" as cmake -P: installs
# BUILD_DIR into PREFIX, builds CONSUMER_DIR with find_package(gpugc) against
# that prefix and runs it, then compiles the same program with the flags
# pkg-config gives for the installed gpugc.pc and runs that too.
# Inputs: BUILD_DIR CONFIG PREFIX LIBDIR WORK_DIR CONSUMER_DIR C_COMPILER
#         PKG_CONFIG STATIC (1 for a static libgpugc) SANITIZE (as GPUGC_SANITIZE)
cmake_minimum_required(VERSION 3.24)

# Runs a command; stops the test with `what` if it fails.
function(step what)
  message(STATUS "install test: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (${rc}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE ${PREFIX} ${WORK_DIR})
if(CONFIG)
  set(config_args --config ${CONFIG})
  set(build_type_arg -DCMAKE_BUILD_TYPE=${CONFIG})
endif()
# A sanitized static library needs the sanitizer runtime in every program.
if(SANITIZE)
  set(sanitize_flags -fsanitize=${SANITIZE})
endif()

step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
     ${config_args})

# (1) find_package(gpugc) through CMAKE_PREFIX_PATH.
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
step("run the consumer" ${CMAKE_COMMAND} -E chdir ${cmake_dir}
     ${CMAKE_CTEST_COMMAND} ${config_args} --output-on-failure)

# (2) pkg-config through PKG_CONFIG_PATH.
set(ENV{PKG_CONFIG_PATH} ${PREFIX}/${LIBDIR}/pkgconfig)
if(STATIC)
  set(static_arg --static)
endif()
execute_process(COMMAND ${PKG_CONFIG} ${static_arg} --cflags --libs gpugc
                OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install test: pkg-config found no gpugc in $ENV{PKG_CONFIG_PATH}")
endif()
string(FIND "${pc_flags}" "${PREFIX}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "install test: gpugc.pc does not point into ${PREFIX}: ${pc_flags}")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
set(pc_exe ${WORK_DIR}/consumer-pkg-config)
step("compile with pkg-config" ${C_COMPILER} ${sanitize_flags}
     ${CONSUMER_DIR}/consumer.c ${pc_flags} -o ${pc_exe})
step("run the pkg-config build" ${CMAKE_COMMAND} -E env
     LD_LIBRARY_PATH=${PREFIX}/${LIBDIR} ${pc_exe})
