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
    // header and tokenizer_json build their inputs from the fuzz bytes: they start from nothing.
    for (const char* d : {"model", "safetensors", "tokenizer", "header", "tokenizer_json"}) fs::create_directories(out / d);
    for (const auto& c : bad_files(data.string())) {
        // The multi-megabyte cases (100,001 tensors, a million keys) stay tests only: as seeds they
        // would raise libFuzzer's input length for every mutation and slow the whole run.
        if (c.bytes.size() > (1u << 20)) continue;
        const std::string bytes(c.bytes.begin(), c.bytes.end());
        write(out / "model" / c.name, bytes);
        write(out / "safetensors" / c.name, bytes);
    }
    for (const auto& e : fs::recursive_directory_iterator(data)) {
        const auto ext = e.path().extension();
        if (ext != ".safetensors" && e.path().filename() != "tokenizer.json") continue;
        std::ifstream f(e.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        std::string name = fs::relative(e.path(), data).string();
        for (char& c : name) c = c == '/' ? '-' : c;
        if (ext == ".safetensors") {
            write(out / "model" / name, bytes);
            write(out / "safetensors" / name, bytes);
        } else {
            write(out / "tokenizer" / name, "\3" + bytes);  // mode 3: parse as tokenizer.json
        }
    }
    const char* prompts[] = {"\0First Citizen:\nBefore we proceed any further, hear me speak.",
                             "\0To be, or not to be \xe2\x80\x94 that is the question \xf0\x9f\x98\x80",
                             "\0\xff\xfe\xc0\xaf\xed\xa0\x80 broken", "\1ab\xc3\xa9\xf0\x9f\x98\x80 \n\nab",
                             "\2Hello, world! I'm here; they'll say 3.14 \xf0\x9f\x98\x80   spaces\n\n"};
    int i = 0;
    for (const char* p : prompts) write(out / "tokenizer" / ("prompt-" + std::to_string(i++)), std::string(p, 1 + std::string(p + 1).size()));
    return 0;
}
