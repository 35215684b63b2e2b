# Every dependency comes from a Debian 12 package (scripts/install-deps).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(websocketpp CONFIG REQUIRED)
find_package(sdbus-c++ CONFIG REQUIRED)
find_package(sdbus-c++-tools CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

# Standalone Asio ships neither a CMake config nor a .pc file.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(wsheart_asio INTERFACE)
target_include_directories(wsheart_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# Not ASIO_NO_DEPRECATED: websocketpp still uses io_service.
# ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio decides between aligned_alloc/free and
# operator new/delete from _GLIBCXX_HAVE_ALIGNED_ALLOC, which is only defined
# once a standard header was included. A translation unit that includes Asio
# first decides otherwise than the rest, and the linker keeps one inline
# aligned_new and another's aligned_delete (valgrind: mismatched free/delete).
# One choice for every unit: operator new/delete.
target_compile_definitions(wsheart_asio INTERFACE ASIO_STANDALONE ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(wsheart_asio INTERFACE Threads::Threads)

if(WSHEART_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
