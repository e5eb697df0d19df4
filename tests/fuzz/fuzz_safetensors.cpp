// libFuzzer target: the safetensors container. Any bytes: parse() must return a value (ok or an
// error), never crash, overflow, or read out of bounds; when it accepts a file, every tensor must
// convert within the bounds it validated.
#include <cstdint>
#include <vector>

#include "safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto file = gpt::safetensors::parse(data, size);
    if (!file) return 0;
    std::vector<float> out;
    for (const auto& t : file->tensors) {
        out.resize(t.numel);
        gpt::safetensors::to_f32(file.value(), t, out.data());
    }
    return 0;
}
