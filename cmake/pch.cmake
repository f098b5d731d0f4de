# Precompiled headers. nlohmann/json and spdlog (with fmt) take about two
# seconds of parsing in every unit that includes them, and most host and
# binding units do: they are parsed once, in host_core, and every other host
# target reuses that. Off by default under a compiler launcher such as
# ccache, which cannot cache a unit built with a PCH (without extra
# sloppiness settings), and never for the static guest agent.
if(CMAKE_CXX_COMPILER_LAUNCHER)
  set(banger_pch_default OFF)
else()
  set(banger_pch_default ON)
endif()
option(BANGER_PCH "precompile nlohmann/json and spdlog for the host targets" ${banger_pch_default})

# banger_use_pch(TARGET): the first caller makes the PCH, the rest reuse it.
function(banger_use_pch target)
  if(NOT BANGER_PCH)
    return()
  endif()
  get_property(first GLOBAL PROPERTY BANGER_PCH_TARGET)
  if(first)
    target_precompile_headers(${target} REUSE_FROM ${first})
  else()
    target_precompile_headers(${target} PRIVATE <nlohmann/json.hpp> <spdlog/spdlog.h>)
    set_property(GLOBAL PROPERTY BANGER_PCH_TARGET ${target})
  endif()
endfunction()
