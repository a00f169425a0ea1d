# Conan 2 recipe for tokenbook, kept in the project's own tree (not a
# conan-center recipe: the sources are exported from here, not downloaded).
# Modelled on conan-center's re2 (compiled C++ on Abseil). See
# docs/packaging.md; it is not exercised in this repository's CI.
#
#   conan create . --build=missing -s compiler.cppstd=20
#
# Consumers get the same CMake package as `cmake --install` gives:
#   find_package(tokenbook)  ->  tokenbook::tokenbook (C ABI, shared)
#                                tokenbook::core      (header-only C++, on Abseil)
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class TokenbookConan(ConanFile):
    name = "tokenbook"
    description = "Bookkeeping for AI tokens: exact costs in integer micro-dollars, budgets, reports"
    license = "MIT"
    homepage = "https://github.com/OWNER/tokenbook"  # placeholder: the project's repository
    topics = ("llm", "tokens", "cost", "budget", "c-api")

    # The C ABI library is always shared: its stable ABI is the point.
    package_type = "shared-library"
    settings = "os", "arch", "compiler", "build_type"

    exports_sources = (
        "CMakeLists.txt",
        "cmake/*",
        "capi/*",
        "include/*",
        "lib/*",
        "data/*",
        "LICENSE*",
    )

    def set_version(self):
        text = load(self, os.path.join(self.recipe_folder, "CMakeLists.txt"))
        self.version = re.search(r"project\(tokenbook\s+VERSION\s+([0-9.]+)", text).group(1)

    def layout(self):
        cmake_layout(self)

    def requirements(self):
        # tokenbook::core's headers include Abseil's; the others are used
        # only inside the shared library.
        self.requires("abseil/20240116.2", transitive_headers=True)
        self.requires("rapidjson/cci.20230929")
        self.requires("simdjson/3.10.1")
        self.requires("tomlplusplus/3.4.0")
        self.requires("sqlite3/3.45.0")
        self.requires("libpq/15.5")

    def validate(self):
        check_min_cppstd(self, 20)

    def generate(self):
        tc = CMakeToolchain(self)
        for option in ("TESTS", "BENCH", "EXAMPLES", "CLI"):
            tc.cache_variables[f"TOKENBOOK_BUILD_{option}"] = False
        tc.cache_variables["TOKENBOOK_INSTALL"] = True
        # Link Conan's libpq (which may be static) rather than load libpq.so.5.
        tc.cache_variables["TOKENBOOK_LIBPQ_DLOPEN"] = False
        # The build reads these two header locations as variables (Debian's
        # and vcpkg's RapidJSON config set RAPIDJSON_INCLUDE_DIRS; toml++ is
        # found with find_path): give them Conan's.
        tc.cache_variables["RAPIDJSON_INCLUDE_DIRS"] = self._include_dir("rapidjson")
        tc.cache_variables["TOMLPLUSPLUS_INCLUDE_DIR"] = self._include_dir("tomlplusplus")
        tc.generate()
        CMakeDeps(self).generate()

    def _include_dir(self, dep):
        cpp_info = self.dependencies[dep].cpp_info
        return os.path.join(self.dependencies[dep].package_folder, cpp_info.includedirs[0]).replace("\\", "/")

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE*", src=self.source_folder, dst=os.path.join(self.package_folder, "licenses"))
        cmake = CMake(self)
        cmake.install()
        # Conan's generators write their own CMake and pkg-config files.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "lib", "pkgconfig"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "tokenbook")

        capi = self.cpp_info.components["tokenbook"]
        capi.set_property("cmake_target_name", "tokenbook::tokenbook")
        capi.set_property("pkg_config_name", "tokenbook")
        capi.libs = ["tokenbook"]
        # Linked privately into the shared library; listed because Conan wants
        # every requirement used by a component.
        capi.requires = ["abseil::abseil", "rapidjson::rapidjson", "simdjson::simdjson", "tomlplusplus::tomlplusplus",
                         "sqlite3::sqlite3", "libpq::libpq"]

        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "tokenbook::core")
        core.libdirs = []
        core.bindirs = []
        core.requires = [
            "abseil::absl_status",
            "abseil::absl_statusor",
            "abseil::absl_strings",
            "abseil::absl_str_format",
            "abseil::absl_flat_hash_map",
            "abseil::absl_synchronization",
            "abseil::absl_time",
        ]
