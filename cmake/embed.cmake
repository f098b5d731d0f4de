# banger_embed(TARGET ROOT dir GLOBS pattern...)
# Compiles the matching files into a static library exposing
# banger::embedded_files(): a list of {relative path, contents}.
function(banger_embed target)
  cmake_parse_arguments(E "" "ROOT" "GLOBS" ${ARGN})
  set(files "")
  foreach(g ${E_GLOBS})
    file(GLOB matched CONFIGURE_DEPENDS ${E_ROOT}/${g})
    list(APPEND files ${matched})
  endforeach()
  list(SORT files)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}.cc)
  set(list_file ${CMAKE_CURRENT_BINARY_DIR}/${target}.files)
  file(WRITE ${list_file} "${files}")
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DROOT=${E_ROOT} -DOUT=${out} -DLIST_FILE=${list_file}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_generate.cmake
    VERBATIM
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/embed_generate.cmake
    COMMENT "Embedding ${target}")
  add_library(${target} STATIC ${out})
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR})
endfunction()
