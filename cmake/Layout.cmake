# Include roots per module (docs/development.md, "Layout"): a target that
# links a module sees the headers that module offers and nothing else of its
# directory; the module's own sources see the whole module. There is no
# global include_directories(). The roots are symbolic links in the build
# tree, so compiler messages and editors still lead to the source files.
#
#   wsheart_module_headers(TARGET [PREFIX DIR_NAME] DIR SOURCE_DIR PUBLIC HEADER...)
#
# With PREFIX bus, `#include "bus/names.hpp"` finds SOURCE_DIR/names.hpp.
# Without PREFIX the headers are included by their bare names.
function(wsheart_module_headers target)
  cmake_parse_arguments(ARG "" "PREFIX;DIR" "PUBLIC" ${ARGN})
  if(NOT ARG_DIR)
    message(FATAL_ERROR "wsheart_module_headers(${target}): DIR is required")
  endif()
  set(root ${CMAKE_BINARY_DIR}/include/${target})
  file(REMOVE_RECURSE ${root})
  set(public ${root}/public)
  if(ARG_PREFIX)
    set(public_dir ${public}/${ARG_PREFIX})
  else()
    set(public_dir ${public})
  endif()
  file(MAKE_DIRECTORY ${public_dir})
  foreach(header IN LISTS ARG_PUBLIC)
    if(NOT EXISTS ${ARG_DIR}/${header})
      message(FATAL_ERROR "wsheart_module_headers(${target}): no ${ARG_DIR}/${header}")
    endif()
    file(CREATE_LINK ${ARG_DIR}/${header} ${public_dir}/${header} SYMBOLIC)
  endforeach()

  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE ${public})
    return()
  endif()
  target_include_directories(${target} PUBLIC ${public})
  # The module's own sources write "PREFIX/internal.hpp" too. Without a
  # prefix, a source finds its siblings through its own directory.
  if(ARG_PREFIX)
    file(MAKE_DIRECTORY ${root}/private)
    file(CREATE_LINK ${ARG_DIR} ${root}/private/${ARG_PREFIX} SYMBOLIC)
    target_include_directories(${target} PRIVATE ${root}/private)
  endif()
endfunction()
