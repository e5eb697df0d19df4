// Writes the fuzzers' seed corpus: every bad file of the test suite (tests/bad_files.cpp) and the
// valid checkpoints in tests/data, into DIR/model (and DIR/safetensors), plus prompts for the
// tokenizer into DIR/tokenizer.   write_corpus TESTDATA_DIR OUT_DIR
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "bad_files.h"

namespace fs = std::filesystem;

static void write(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    const fs::path data = argv[1], out = argv[2];
    for (const char* d : {"model", "safetensors", "tokenizer"}) fs::create_directories(out / d);
    for (const auto& c : bad_files(data.string())) {
        const std::string bytes(c.bytes.begin(), c.bytes.end());
        write(out / "model" / c.name, bytes);
        write(out / "safetensors" / c.name, bytes);
    }
    for (const auto& e : fs::directory_iterator(data)) {
        if (e.path().extension() != ".safetensors") continue;
        std::ifstream f(e.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        write(out / "model" / e.path().filename(), bytes);
        write(out / "safetensors" / e.path().filename(), bytes);
    }
    const char* prompts[] = {"\0First Citizen:\nBefore we proceed any further, hear me speak.",
                             "\0To be, or not to be \xe2\x80\x94 that is the question \xf0\x9f\x98\x80",
                             "\0\xff\xfe\xc0\xaf\xed\xa0\x80 broken", "\1ab\xc3\xa9\xf0\x9f\x98\x80 \n\nab"};
    int i = 0;
    for (const char* p : prompts) write(out / "tokenizer" / ("prompt-" + std::to_string(i++)), std::string(p, 1 + std::string(p + 1).size()));
    return 0;
}
