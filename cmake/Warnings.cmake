# Warnings and sanitizers as INTERFACE targets: link them to our own targets
# only, so third-party headers (imported as SYSTEM) are not held to them.
# No -Wnull-dereference: at -O2 it fires inside inlined Asio code (false positives).
add_library(wsheart_warnings INTERFACE)
target_compile_options(wsheart_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  -Wmisleading-indentation -Wduplicated-cond -Wlogical-op -Wuseless-cast)
if(WSHEART_WERROR)
  target_compile_options(wsheart_warnings INTERFACE -Werror)
endif()

# WSHEART_SANITIZE: OFF, ON or address (ASan + UBSan), thread (TSan). ASan and
# TSan cannot be combined. -fno-sanitize-recover=all: the first UBSan report
# aborts (ASan and TSan reports are fatal or counted by their *_OPTIONS).
add_library(wsheart_sanitizers INTERFACE)
string(TOLOWER "${WSHEART_SANITIZE}" _wsheart_sanitize)
if(_wsheart_sanitize MATCHES "^(on|yes|true|1|address)$")
  target_compile_options(wsheart_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(wsheart_sanitizers INTERFACE -fsanitize=address,undefined)
  # ASan's instrumentation makes g++ 12 report -Wmaybe-uninitialized inside
  # libstdc++ (std::function moved in the std::regex automaton, in every unit
  # that compiles a regex). The same code is held to the warning in the
  # ordinary -O2 build, which CI also builds with -Werror.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(wsheart_sanitizers INTERFACE -Wno-maybe-uninitialized)
  endif()
elseif(_wsheart_sanitize STREQUAL "thread")
  target_compile_options(wsheart_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  # g++ 12 warns (-Wtsan) that TSan does not model std::atomic_thread_fence,
  # which Asio's std_fenced_block uses around every handler call. TSan may
  # then see too little ordering (a false report), never too much; the
  # hand-over from the resolver thread also goes through the scheduler's
  # mutex, which TSan does see. Asio stays as it ships rather than being
  # built with ASIO_DISABLE_FENCED_BLOCK for the test.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(wsheart_sanitizers INTERFACE -Wno-tsan)
  endif()
  target_link_options(wsheart_sanitizers INTERFACE -fsanitize=thread)
elseif(NOT _wsheart_sanitize MATCHES "^(off|no|false|0|)$")
  message(FATAL_ERROR "WSHEART_SANITIZE=${WSHEART_SANITIZE}: expected OFF, ON (= address), address or thread")
endif()

# One target to link for "our code": warnings + sanitizers.
add_library(wsheart_project_options INTERFACE)
target_link_libraries(wsheart_project_options INTERFACE wsheart_warnings wsheart_sanitizers)
