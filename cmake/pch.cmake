# Precompiled headers, only where they pay. Measured on 2 cores (a unit's
# user CPU): a PCH of json + spdlog (139 MB with -g) costs every unit about
# 0.5 s to load and saves about 0.4 s in a unit that uses json, so on all
# host targets it made the full build 7% slower. Every binding uses json
# (bindings/support.h), so the bindings get it; host/ relies on json_fwd.hpp
# in its public headers instead. Off by default under a compiler launcher
# such as ccache, which cannot cache a unit built with a PCH (without extra
# sloppiness settings).
if(CMAKE_CXX_COMPILER_LAUNCHER)
  set(banger_pch_default OFF)
else()
  set(banger_pch_default ON)
endif()
option(BANGER_PCH "precompile nlohmann/json and spdlog for the bindings" ${banger_pch_default})

# banger_use_pch(TARGET): the first caller makes the PCH, any others reuse it.
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
