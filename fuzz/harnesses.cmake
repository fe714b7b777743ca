# The harness functions, shared by the fuzzers and tests/fuzz_regression_test.
add_library(lcstore_fuzz_harnesses STATIC ${PROJECT_SOURCE_DIR}/fuzz/harnesses.cpp)
target_link_libraries(lcstore_fuzz_harnesses PUBLIC lcstore)
target_include_directories(lcstore_fuzz_harnesses PRIVATE ${PROJECT_SOURCE_DIR}/src PUBLIC ${PROJECT_SOURCE_DIR}/fuzz)
target_compile_definitions(lcstore_fuzz_harnesses PRIVATE LCSTORE_FIXTURES="${PROJECT_SOURCE_DIR}/../shared/fixtures")
