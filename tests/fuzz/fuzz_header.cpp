// libFuzzer target, structure-aware: a safetensors header assembled from valid pieces chosen by the
// fuzz input (tensor entries with dtypes, shapes and offsets that are mostly right, metadata, then
// the mistakes an attacker would make: ids and sizes at the edges of 32 and 64 bits, fields twice,
// values nested where a number belongs, counts past the limits), so that the fuzzer spends its time
// deep in the validation instead of on JSON syntax. parse() must return a value; when it accepts a
// file, the tensors must tile the data exactly and convert within it.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

#include "safetensors.h"

namespace {

std::string nested(FuzzedDataProvider& in) {
    const size_t depth = in.ConsumeIntegralInRange<size_t>(1, 5000);
    const bool object = in.ConsumeBool();
    std::string s;
    for (size_t i = 0; i < depth; i++) s += object ? "{\"k\":" : "[";
    s += "1";
    for (size_t i = 0; i < depth; i++) s += object ? "}" : "]";
    return s;
}

// A number where the header wants a dimension or an offset: usually `good`, else an edge.
std::string number(FuzzedDataProvider& in, uint64_t good) {
    switch (in.ConsumeIntegralInRange<int>(0, 15)) {
        case 0: return "-1";
        case 1: return "4294967296";
        case 2: return "4294967301";
        case 3: return "18446744073709551615";
        case 4: return "18446744073709551616";
        case 5: return "9223372036854775808";
        case 6: return "2.5";
        case 7: return "1e30";
        case 8: return "\"" + std::to_string(good) + "\"";
        case 9: return nested(in);
        case 10: return "null";
        case 11: return std::to_string(in.ConsumeIntegral<uint32_t>());
        default: return std::to_string(good);
    }
}

std::string key(FuzzedDataProvider& in, const std::vector<std::string>& used) {
    if (!used.empty() && in.ConsumeIntegralInRange<int>(0, 15) == 0) return used[in.ConsumeIntegralInRange<size_t>(0, used.size() - 1)];
    if (in.ConsumeIntegralInRange<int>(0, 31) == 0) return std::string(in.ConsumeIntegralInRange<size_t>(0, 1100), 'n');
    return "t" + std::to_string(used.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    std::string h = "{";
    std::vector<std::string> names;
    uint64_t offset = 0;
    const size_t n = in.ConsumeIntegralInRange<size_t>(0, 12);
    for (size_t i = 0; i < n; i++) {
        if (i) h += ",";
        if (in.ConsumeIntegralInRange<int>(0, 7) == 0) {  // metadata
            h += "\"__metadata__\":{";
            const size_t keys = in.ConsumeIntegralInRange<size_t>(0, in.ConsumeBool() ? 3 : 1100);
            for (size_t k = 0; k < keys; k++) {
                h += (k ? ",\"m" : "\"m") + std::to_string(in.ConsumeBool() ? k : 0) + "\":";
                h += in.ConsumeIntegralInRange<int>(0, 9) ? "\"" + in.ConsumeRandomLengthString(16) + "\"" : nested(in);
            }
            h += "}";
            continue;
        }
        const std::string name = key(in, names);
        names.push_back(name);
        h += "\"" + name + "\":";
        if (in.ConsumeIntegralInRange<int>(0, 31) == 0) {
            h += nested(in);
            continue;
        }
        static const char* dtypes[] = {"\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"Q4\"", "7", "[\"F32\"]"};
        const int d = in.ConsumeIntegralInRange<int>(0, 6);
        const uint64_t elem = d == 0 ? 4 : 2;
        const size_t rank = in.ConsumeIntegralInRange<size_t>(0, in.ConsumeBool() ? 3 : 10);
        uint64_t numel = 1;
        std::string shape = "[";
        for (size_t r = 0; r < rank; r++) {
            const uint64_t dim = in.ConsumeIntegralInRange<uint64_t>(0, 4);
            numel *= dim;
            shape += (r ? "," : "") + number(in, dim);
        }
        shape += "]";
        const uint64_t bytes = numel * elem;
        std::string fields[] = {"\"dtype\":" + std::string(dtypes[d]), "\"shape\":" + shape,
                                "\"data_offsets\":[" + number(in, offset) + "," + number(in, offset + bytes) + "]"};
        offset += bytes;
        h += "{";
        bool first = true;
        for (int f = 0; f < 3; f++) {
            const int what = in.ConsumeIntegralInRange<int>(0, 19);
            if (what == 0) continue;  // a missing field
            h += (first ? "" : ",") + fields[f];
            first = false;
            if (what == 1) h += "," + fields[f];  // twice
            if (what == 2) h += ",\"extra\":" + nested(in);
        }
        h += "}";
    }
    h += "}";
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) h.resize(in.ConsumeIntegralInRange<size_t>(0, h.size()));  // truncated JSON
    uint64_t data_size = offset;
    if (in.ConsumeIntegralInRange<int>(0, 7) == 0) data_size += in.ConsumeIntegralInRange<uint64_t>(0, 8);

    std::vector<uint8_t> file(8 + h.size() + data_size);
    for (int i = 0; i < 8; i++) file[static_cast<size_t>(i)] = static_cast<uint8_t>(static_cast<uint64_t>(h.size()) >> (8 * i));
    std::copy(h.begin(), h.end(), file.begin() + 8);
    const std::vector<uint8_t> values = in.ConsumeRemainingBytes<uint8_t>();
    for (size_t i = 0; i < data_size && i < values.size(); i++) file[8 + h.size() + i] = values[i];

    auto parsed = gpt::safetensors::parse(file.data(), file.size());
    if (!parsed) return 0;
    size_t at = 0;
    std::vector<float> out;
    for (const auto& t : parsed->tensors) {
        if (t.begin != at || t.end < t.begin || t.end > parsed->data_size) __builtin_trap();  // must tile
        at = t.end;
        out.resize(t.numel);
        gpt::safetensors::to_f32(parsed.value(), t, out.data());
    }
    if (at != parsed->data_size) __builtin_trap();
    return 0;
}
