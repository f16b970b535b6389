# find_package(kwbin): kwbin's C headers (kwbin.h, kwbin_nn.h) as the INTERFACE
# target kwbin::kwbin (include folder, and libm for kwbin_nn.h).  Installed by
# `make install` or `cmake --install` in PREFIX/share/cmake/kwbin; the prefix is
# found from this file's place, so an installed tree can be moved.
get_filename_component(_kwbin_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT EXISTS "${_kwbin_prefix}/include/kwbin.h" OR NOT EXISTS "${_kwbin_prefix}/include/kwbin_nn.h")
  set(kwbin_FOUND FALSE)
  set(kwbin_NOT_FOUND_MESSAGE "kwbin.h or kwbin_nn.h is missing from ${_kwbin_prefix}/include")
  unset(_kwbin_prefix)
  return()
endif()

if(NOT TARGET kwbin::kwbin)
  add_library(kwbin::kwbin INTERFACE IMPORTED)
  set_target_properties(kwbin::kwbin PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kwbin_prefix}/include")
  if(UNIX)
    set_property(TARGET kwbin::kwbin PROPERTY INTERFACE_LINK_LIBRARIES m)
  endif()
endif()

set(kwbin_INCLUDE_DIR "${_kwbin_prefix}/include")
unset(_kwbin_prefix)
