# lcstore_layer(NAME SOURCES src... [DEPENDS layer...] [PUBLIC_LIBS lib...] [PRIVATE_LIBS lib...]
#               [FLAT_HEADERS] [NO_INSTALL])
#
# Defines the library lcstore_NAME (alias lcstore::NAME) of one layer. Its
# public headers are include/lcstore/NAME/ and its private ones src/NAME/.
# Each layer sees only its own headers and those of the layers it DEPENDS on:
# the build tree offers every layer an include root of its own, made of links
# to those two folders, so an include of a higher layer's header is a
# "No such file" error rather than a dependency nobody declared.
function(lcstore_layer name)
  cmake_parse_arguments(ARG "FLAT_HEADERS;NO_INSTALL" "" "SOURCES;DEPENDS;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  set(target lcstore_${name})
  add_library(${target} ${ARG_SOURCES})
  add_library(lcstore::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON)

  set(public_root ${PROJECT_BINARY_DIR}/layer-include/${name})
  set(private_root ${PROJECT_BINARY_DIR}/layer-src/${name})
  file(MAKE_DIRECTORY ${public_root}/lcstore ${private_root})
  if(ARG_FLAT_HEADERS)
    # The base layer's headers sit directly in include/lcstore/.
    file(GLOB headers RELATIVE ${PROJECT_SOURCE_DIR}/include/lcstore ${PROJECT_SOURCE_DIR}/include/lcstore/*.h)
    foreach(header ${headers})
      lcstore_link(${PROJECT_SOURCE_DIR}/include/lcstore/${header} ${public_root}/lcstore/${header})
      install(FILES ${PROJECT_SOURCE_DIR}/include/lcstore/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lcstore)
    endforeach()
  else()
    lcstore_link(${PROJECT_SOURCE_DIR}/include/lcstore/${name} ${public_root}/lcstore/${name})
    if(NOT ARG_NO_INSTALL)
      install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lcstore/${name} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lcstore)
    endif()
  endif()
  lcstore_link(${PROJECT_SOURCE_DIR}/src/${name} ${private_root}/${name})

  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${public_root}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${private_root})
  set(layer_libs)
  foreach(layer ${ARG_DEPENDS})
    list(APPEND layer_libs lcstore_${layer})
  endforeach()
  target_link_libraries(${target} PUBLIC ${layer_libs} ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  lcstore_warnings(${target})
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ${target} EXPORT lcstoreTargets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  endif()
  # The private include root of a layer, for its tests (which may test internals).
  set_property(TARGET ${target} PROPERTY LCSTORE_PRIVATE_INCLUDE ${private_root})
endfunction()

function(lcstore_link from to)
  if(NOT EXISTS ${to})
    file(CREATE_LINK ${from} ${to} SYMBOLIC)
  endif()
endfunction()

# The project's warnings, errors with LCSTORE_WERROR (CI).
function(lcstore_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wno-missing-field-initializers -Werror=return-type $<$<BOOL:${LCSTORE_WERROR}>:-Werror>)
endfunction()
