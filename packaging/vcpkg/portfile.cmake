# vcpkg port of tokenbook (an overlay port: vcpkg install tokenbook
# --overlay-ports=packaging/vcpkg). Not exercised in this repository's CI;
# see docs/packaging.md. Before use, set REPO to the project's repository,
# REF to a release tag and SHA512 to the archive's hash (vcpkg prints the
# right value when SHA512 is 0).

# libtokenbook is a shared library by design (its stable C ABI is the point);
# on static triplets its dependencies are linked into it.
vcpkg_check_linkage(ONLY_DYNAMIC_LIBRARY)

vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO OWNER/tokenbook
    REF "v${VERSION}"
    SHA512 0
    HEAD_REF main
)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DTOKENBOOK_BUILD_TESTS=OFF
        -DTOKENBOOK_BUILD_BENCH=OFF
        -DTOKENBOOK_BUILD_EXAMPLES=OFF
        -DTOKENBOOK_BUILD_CLI=OFF
        -DTOKENBOOK_INSTALL=ON
        # vcpkg's libpq is the one to use, and may be a static archive.
        -DTOKENBOOK_LIBPQ_DLOPEN=OFF
        # RapidJSON's own config sets this variable only in some versions.
        "-DRAPIDJSON_INCLUDE_DIRS=${CURRENT_INSTALLED_DIR}/include"
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH lib/cmake/tokenbook)
vcpkg_fixup_pkgconfig()

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
