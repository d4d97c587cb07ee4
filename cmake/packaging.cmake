# packaging.cmake - what `cpack -G DEB` in a build directory needs to make a
# .deb of everything `cmake --install` installs (both libraries, the header,
# the CMake package and the pkg-config files), installed under /usr.
# Included by the top-level CMakeLists.txt after the install rules.
set(GPUGC_PACKAGE_MAINTAINER "gpugc maintainers <gpugc@localhost>" CACHE STRING
    "Maintainer field of the .deb that cpack -G DEB makes")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME libgpugc-dev)
set(CPACK_PACKAGE_VENDOR gpugc)
set(CPACK_PACKAGE_CONTACT "${GPUGC_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${GPUGC_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # libgpugc-dev_<version>_<arch>.deb
# The shlibs file for packages built against this one, and the ldconfig
# calls after installing and removing libgpugc.so.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# libgpugc.so's own dependencies (the CUDA runtime is linked into it): the
# C library and, with the OpenCL backend, the OpenCL ICD loader.
set(gpugc_deb_depends "libc6")
if(GPUGC_USES_OPENCL)
  string(APPEND gpugc_deb_depends ", ocl-icd-libopencl1")
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${gpugc_deb_depends}")
include(CPack)
