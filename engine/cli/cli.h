// What the commands of the `gpt` CLI share (main.cpp defines it; explore.cpp holds the commands
// that look inside the model).
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "../model.h"
#include "../probe.h"

namespace cli {

// One line on stderr and exit: 2 for usage errors (with the usage), 1 otherwise.
[[noreturn]] void fail(int code, const std::string& msg);

// --name value pairs; every option must be known to the command.
struct Args {
    std::map<std::string, std::string> v;
    bool has(const std::string& k) const { return v.count(k) != 0; }
    std::string str(const std::string& k) const {
        const auto it = v.find(k);
        if (it == v.end()) fail(2, "missing --" + k);
        return it->second;
    }
    long integer(const std::string& k, long def, long lo, long hi) const {
        if (!has(k)) return def;
        const std::string s = str(k);
        errno = 0;
        char* end = nullptr;
        const long x = std::strtol(s.c_str(), &end, 10);
        if (s.empty() || *end || errno || x < lo || x > hi) {
            fail(2, "--" + k + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                        ", got '" + s + "'");
        }
        return x;
    }
    double number(const std::string& k, double def) const {
        if (!has(k)) return def;
        const std::string s = str(k);
        char* end = nullptr;
        const double x = std::strtod(s.c_str(), &end);
        if (s.empty() || *end || !std::isfinite(x)) fail(2, "--" + k + " must be a number, got '" + s + "'");
        return x;
    }
};

std::vector<uint8_t> read_file(const std::string& path);
gpt::Model load_model(const Args& a);
// A checkpoint streamed from disk with its side files (their weights fields unused).
gpt::Model load_checkpoint(const std::string& path, const gpt::CheckpointFiles& side, gpt::WeightsIn w);
// --weights-in auto|f32|f16|int8 (default auto); a bad value is a usage error.
gpt::WeightsIn weights_in(const Args& a);
// A token as a label: its text, with whitespace and control characters made visible.
std::string label(const gpt::Model& m, int token);
std::vector<int> encode(const gpt::Model& m, const std::string& text);
// --ablate L.H[,L.H...] (heads off) and --uniform L.H[,...] (causal average) as forward's input.
gpt::Interventions interventions(const Args& a, const gpt::Model& m);
// The prompt's tokens as the model sees them: its last block_size, saying so on stderr if cut.
std::vector<int> prompt_window(const Args& a, const gpt::Model& m);
// --data FILE cut by --split all|train|val (by character, as weights/train.py) and --limit N;
// *where describes the cut for the output.
std::string read_split(const Args& a, std::string* where);

int cmd_explain(const Args& a);
int cmd_lens(const Args& a);
int cmd_heads(const Args& a);

}  // namespace cli
