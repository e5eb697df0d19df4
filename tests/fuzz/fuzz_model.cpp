// libFuzzer target: Model::load (config and vocabulary metadata, tensor names and shapes, values),
// then a few generation steps on whatever loads: the whole path from bytes to a token.
#include <cstdint>

#include "generator.h"
#include "model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A memory cap keeps the fuzzer's own footprint bounded; the check itself is under test.
    auto m = gpt::Model::load(data, size, 64u << 20);
    if (!m) return 0;
    gpt::Generator g(m.value());
    if (!g.start({0, m->config().vocab_size - 1}, 1)) return 0;
    gpt::SamplerSettings s;
    s.top_k = 3;
    for (int i = 0; i < 3; i++) g.step(s);
    return 0;
}
