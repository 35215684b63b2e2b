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
target_compile_definitions(wsheart_asio INTERFACE ASIO_STANDALONE)
target_link_libraries(wsheart_asio INTERFACE Threads::Threads)

if(WSHEART_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
