// JSON from untrusted files (tokenizer.json, vocab.json, config.json, the metadata's vocabulary)
// into a tree whose cost is bounded before it is paid. nlohmann's own parse() builds any tree the
// text describes: 10,000 nested arrays (whose dump() or destruction then recurses that deep), or
// 100 MB of "{}," that become gigabytes of maps. Here a SAX pass builds the tree itself and refuses,
// at the byte where the limit is crossed, any nesting deeper than max_depth or any tree whose
// estimated size passes max_memory. It never throws and never recurses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "result.h"

namespace gpt {

struct JsonLimits {
    int max_depth = 64;                    // real tokenizer.json files nest about 6 deep
    uint64_t max_memory = 256ull << 20;    // estimated bytes of the tree: GPT-2's tokenizer.json takes ~15 MiB
};

// `what` names the file in messages: "tokenizer.json is not valid JSON (at byte 17)".
Result<nlohmann::json> parse_json(std::string_view text, const std::string& what, const JsonLimits& limits = JsonLimits());

// A JSON integer as a 64-bit value, without narrowing: false for non-integers and for unsigned
// values past INT64_MAX.
bool json_int64(const nlohmann::json& v, int64_t* out);

}  // namespace gpt
