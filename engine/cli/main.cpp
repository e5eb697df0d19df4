// gpt: the native command-line front end of the engine.
//
//   gpt generate  --weights F --prompt TEXT --tokens N [--temperature T] [--top-k K] [--top-p P] [--seed S]
//   gpt attention --weights F --prompt TEXT --layer L --head H
//   gpt loss      --weights F --data FILE [--split all|train|val] [--limit N]
//   gpt info      --weights F
// Every command also takes what may come beside the weights (checkpoint.h): --tokenizer
// tokenizer.json, or --vocab vocab.json --merges merges.txt, and --config config.json.
//
// Bad arguments or files: one line on stderr and a non-zero exit (2 for usage, 1 otherwise).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../bpe.h"
#include "../checkpoint.h"
#include "../generator.h"
#include "../loss.h"
#include "../model.h"
#include "../ops/ops.h"
#include "../utf8.h"

namespace {

const char* kUsage =
    "usage: gpt <command> [options]\n"
    "  generate  --weights F --prompt TEXT --tokens N [--temperature T=1] [--top-k K=0] [--top-p P=1] [--seed S=1337]\n"
    "  attention --weights F --prompt TEXT --layer L --head H\n"
    "  loss      --weights F --data FILE [--split all|train|val] [--limit N]\n"
    "  info      --weights F\n"
    "  train     --data FILE --out F.safetensors [options: gpt train --help]\n"
    "every command: [--tokenizer tokenizer.json | --vocab vocab.json --merges merges.txt] [--config config.json]\n";

[[noreturn]] void fail(int code, const std::string& msg) {
    std::fprintf(stderr, "gpt: %s\n", msg.c_str());
    if (code == 2) std::fputs(kUsage, stderr);
    std::exit(code);
}

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

Args parse_args(int argc, char** argv, std::set<std::string> known) {
    known.insert({"tokenizer", "vocab", "merges", "config"});  // beside the weights, for every command
    Args a;
    for (int i = 2; i < argc; i++) {
        const std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) fail(2, "unexpected argument '" + arg + "'");
        const size_t eq = arg.find('=');  // --key=value or --key value
        const std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        if (!known.count(key)) fail(2, "unknown option '--" + key + "' for '" + argv[1] + "'");
        if (eq != std::string::npos) {
            a.v[key] = arg.substr(eq + 1);
        } else {
            if (i + 1 >= argc) fail(2, "option '" + arg + "' needs a value");
            a.v[key] = argv[++i];
        }
    }
    return a;
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail(1, "cannot open '" + path + "': " + std::strerror(errno));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) fail(1, "cannot read '" + path + "'");
    return bytes;
}

gpt::Model load_model(const Args& a) {
    const std::string path = a.str("weights");
    const std::vector<uint8_t> bytes = read_file(path);
    gpt::CheckpointFiles files;
    files.weights = bytes.data();
    files.weights_size = bytes.size();
    auto text = [&](const char* option, std::string* out) {
        if (!a.has(option)) return;
        const std::vector<uint8_t> b = read_file(a.str(option));
        out->assign(b.begin(), b.end());
    };
    text("tokenizer", &files.tokenizer_json);
    text("vocab", &files.vocab_json);
    text("merges", &files.merges_txt);
    text("config", &files.config_json);
    auto m = gpt::Model::load(files);
    if (!m) fail(1, "cannot load '" + path + "': " + m.error());
    return m.take();
}

// A token as a label: its text, with whitespace and control characters made visible.
std::string label(const gpt::Model& m, int token) {
    gpt::Utf8Stream s;
    return gpt::printable(s.push(m.tokenizer().token_bytes(token)) + s.flush());
}

std::vector<int> encode(const gpt::Model& m, const std::string& text) {
    const auto enc = m.tokenizer().encode(text);
    if (!enc.ok()) fail(1, enc.error);
    return enc.tokens;
}

int cmd_generate(const Args& a) {
    const gpt::Model m = load_model(a);
    const std::string prompt = a.str("prompt");
    const long n = a.integer("tokens", 0, 0, 100000000);
    gpt::SamplerSettings s;
    s.temperature = static_cast<float>(a.number("temperature", 1.0));
    s.top_k = static_cast<int>(a.integer("top-k", 0, 0, 1 << 30));
    s.top_p = static_cast<float>(a.number("top-p", 1.0));
    if (gpt::Status st = gpt::validate(s); !st) fail(2, st.error);
    const auto seed = static_cast<uint64_t>(a.integer("seed", 1337, 0, 4294967295L));

    gpt::Generator g(m);
    if (gpt::Status st = g.start(encode(m, prompt), seed); !st) fail(1, st.error);
    std::fputs(prompt.c_str(), stdout);
    gpt::Utf8Stream text;  // a BPE token may end inside a UTF-8 character
    for (long i = 0; i < n; i++) {
        std::fputs(text.push(m.tokenizer().token_bytes(g.step(s).token)).c_str(), stdout);
        std::fflush(stdout);  // stream as generated
    }
    std::fputs((text.flush() + "\n").c_str(), stdout);
    return 0;
}

int cmd_attention(const Args& a) {
    const gpt::Model m = load_model(a);
    const gpt::Config& c = m.config();
    const int layer = static_cast<int>(a.integer("layer", 0, 0, c.n_layer - 1));
    const int head = static_cast<int>(a.integer("head", 0, 0, c.n_head - 1));
    if (!a.has("layer") || !a.has("head")) fail(2, "attention needs --layer and --head");
    std::vector<int> tokens = encode(m, a.str("prompt"));
    if (tokens.empty()) fail(1, "the prompt is empty");
    if (static_cast<int>(tokens.size()) > c.block_size) {
        std::fprintf(stderr, "gpt: the prompt has %zu tokens; showing its last %d (the context window)\n",
                     tokens.size(), c.block_size);
        tokens.erase(tokens.begin(), tokens.end() - c.block_size);
    }
    gpt::RunState s(c);
    if (gpt::Status st = gpt::forward(m, s, tokens.data(), static_cast<int>(tokens.size()), 0); !st) fail(1, st.error);

    // Rows: the query position; columns: the key positions it attends to (zero above the diagonal).
    // A context longer than the kept band shows its last s.capture positions.
    const int n = static_cast<int>(tokens.size()), first = std::max(0, n - s.capture);
    if (first > 0) std::fprintf(stderr, "gpt: showing the last %d positions\n", s.capture);
    std::printf("layer %d, head %d: row = query, column = key, values = softmax(QK^T / sqrt(%d))\n", layer, head,
                c.head_size());
    std::printf("%4s", "");
    for (int k = first; k < n; k++) std::printf(" %6s", label(m, tokens[static_cast<size_t>(k)]).c_str());
    std::printf("\n");
    for (int p = first; p < n; p++) {
        std::printf("%4s", label(m, tokens[static_cast<size_t>(p)]).c_str());
        const float* row = s.att_row(layer, head, p);
        for (int k = first; k < n; k++) std::printf(" %6.4f", k <= p ? row[k - s.capture_first(p)] : 0.0f);
        std::printf("\n");
    }
    return 0;
}

int cmd_loss(const Args& a) {
    const gpt::Model m = load_model(a);
    const std::vector<uint8_t> bytes = read_file(a.str("data"));
    const std::string text(bytes.begin(), bytes.end());
    // Split on characters (code points), as weights/train.py does: train = first 90%, val = the rest.
    std::vector<size_t> starts;  // byte offset of each character
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t i = 0; i < text.size();) {
        uint32_t cp;
        const size_t len = gpt::utf8::decode(p, text.size(), i, &cp);
        if (len == 0) fail(1, "'" + a.str("data") + "' is not valid UTF-8 (byte " + std::to_string(i) + ")");
        starts.push_back(i);
        i += len;
    }
    starts.push_back(text.size());
    const size_t n_chars = starts.size() - 1;
    const auto cut = static_cast<size_t>(0.9 * static_cast<double>(n_chars));
    const std::string split = a.has("split") ? a.str("split") : "all";
    size_t from = 0, to = n_chars;
    if (split == "train") to = cut;
    else if (split == "val") from = cut;
    else if (split != "all") fail(2, "--split must be all, train or val");
    const long limit = a.integer("limit", 0, 2, 1L << 40);
    if (limit > 0 && static_cast<size_t>(limit) < to - from) to = from + static_cast<size_t>(limit);

    const std::vector<int> tokens = encode(m, text.substr(starts[from], starts[to] - starts[from]));
    gpt::RunState s(m.config());
    const auto r = gpt::mean_loss(m, s, tokens);
    if (!r) fail(1, r.error());
    std::printf("loss %.6f nats/token over %ld targets (%ld windows of up to %d tokens, split %s, characters %zu..%zu)\n",
                r->mean_nats, r->targets, r->windows, m.config().block_size, split.c_str(), from, to);
    return 0;
}

int cmd_info(const Args& a) {
    const std::string path = a.str("weights");
    const gpt::Model m = load_model(a);
    const gpt::Config& c = m.config();
    std::printf("weights     %s\n", path.c_str());
    std::printf("n_layer     %d\nn_head      %d\nn_embd      %d\nhead_size   %d\nblock_size  %d\nvocab_size  %d\n",
                c.n_layer, c.n_head, c.n_embd, c.head_size(), c.block_size, c.vocab_size);
    std::printf("parameters  %zu\n", m.num_params());
    std::printf("dtype       %s (computed in float32)\n", m.dtype().c_str());
    std::printf("layout      %s\n", m.layout().c_str());
    std::printf("tokenizer   %s (%d tokens)\n", m.tokenizer().kind(), m.tokenizer().vocab_size());
    std::printf("lm_head     %s\n", m.weights().lm_head == m.weights().wte ? "tied to wte" : "separate");
    std::printf("kernels     %s (%d float lanes)\n", GPT_SIMD ? gpt::ops::simd_arch_name() : "scalar",
                GPT_SIMD ? gpt::ops::simd_lanes() : 1);
    return 0;
}

}  // namespace

int cmd_train(int argc, char** argv);  // cli/train.cpp

int main(int argc, char** argv) {
    if (argc < 2) fail(2, "no command");
    const std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "generate") {
        return cmd_generate(parse_args(argc, argv, {"weights", "prompt", "tokens", "temperature", "top-k", "top-p", "seed"}));
    }
    if (cmd == "attention") return cmd_attention(parse_args(argc, argv, {"weights", "prompt", "layer", "head"}));
    if (cmd == "loss") return cmd_loss(parse_args(argc, argv, {"weights", "data", "split", "limit"}));
    if (cmd == "info") return cmd_info(parse_args(argc, argv, {"weights"}));
    if (cmd == "train") return cmd_train(argc, argv);
    fail(2, "unknown command '" + cmd + "'");
}
