// gpt: the native command-line front end of the engine.
//
//   gpt generate  --weights F --prompt TEXT --tokens N [--temperature T] [--top-k K] [--top-p P] [--seed S]
//   gpt attention --weights F --prompt TEXT --layer L --head H
//   gpt loss      --weights F --data FILE [--split all|train|val] [--limit N]
//   gpt info      --weights F
//   gpt explain, lens, heads: looking inside (explore.cpp)
// generate, attention, loss and lens also take --ablate L.H[,L.H...] and --uniform L.H[,...].
// Every command also takes what may come beside the weights (checkpoint.h): --tokenizer
// tokenizer.json, or --vocab vocab.json --merges merges.txt, and --config config.json; and
// --weights-in auto|f32|f16|int8, the format the weight matrices are kept in (weights_format.h).
// --threads N (default 1): forward on N threads, with the same results bit for bit (parallel.h).
//
// Bad arguments or files: one line on stderr and a non-zero exit (2 for usage, 1 otherwise).
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <new>
#include <set>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bpe.h"
#include "../checkpoint.h"
#include "../loader.h"
#include "../finite.h"
#include "../generator.h"
#include "../loss.h"
#include "../model.h"
#include "../ops/ops.h"
#include "../parallel.h"
#include "../utf8.h"
#include "cli.h"

namespace {

const char* kUsage =
    "usage: gpt <command> [options]\n"
    "  generate  --weights F --prompt TEXT --tokens N [--temperature T=1] [--top-k K=0] [--top-p P=1] [--seed S=1337]\n"
    "  attention --weights F --prompt TEXT --layer L --head H\n"
    "  loss      --weights F --data FILE [--split all|train|val] [--limit N]\n"
    "  info      --weights F\n"
    "  explain   --weights F --prompt TEXT --layer L --head H --position I\n"
    "  lens      --weights F --prompt TEXT [--position I=last] [--top K=5]\n"
    "  heads     --weights F --data FILE [--split all|train|val] [--limit N]\n"
    "  train     --data FILE --out F.safetensors [options: gpt train --help]\n"
    "generate, attention, loss, lens: [--ablate L.H,...] (heads off) [--uniform L.H,...] (causal average)\n"
    "every command: [--tokenizer tokenizer.json | --vocab vocab.json --merges merges.txt] [--config config.json]\n"
    "               [--weights-in auto|f32|f16|int8] (the weight matrices in memory; auto: README)\n"
    "               [--threads N=1] (the same results on N threads, faster)\n";

}  // namespace

namespace cli {

[[noreturn]] void fail(int code, const std::string& msg) {
    std::fprintf(stderr, "gpt: %s\n", msg.c_str());
    if (code == 2) std::fputs(kUsage, stderr);
    std::exit(code);
}

Args parse_args(int argc, char** argv, std::set<std::string> known) {
    known.insert({"tokenizer", "vocab", "merges", "config", "weights-in", "threads"});  // for every command that loads a model
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
    // Before any model is loaded: a RunState sizes its scratch from the thread count.
    gpt::parallel::set_threads(static_cast<int>(a.integer("threads", 1, 1, gpt::parallel::kMaxThreads)));
    return a;
}

// Opens a regular file for reading and gives its size. A directory (or a device, a pipe) is refused
// by name before it is opened: reading a directory through a stream ends in an exception, not a
// message.
static std::FILE* open_regular(const std::string& path, uint64_t* size) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) fail(1, "cannot open '" + path + "': " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) fail(1, "'" + path + "' is a directory, not a file");
    if (!S_ISREG(st.st_mode)) fail(1, "'" + path + "' is not a regular file");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail(1, "cannot open '" + path + "': " + std::strerror(errno));
    *size = static_cast<uint64_t>(st.st_size);
    return f;
}

// Reads a whole regular file.
std::vector<uint8_t> read_file(const std::string& path) {
    uint64_t size = 0;
    std::FILE* f = open_regular(path, &size);
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    const size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
    const bool bad = got != bytes.size() || std::ferror(f);
    std::fclose(f);
    if (bad) fail(1, "cannot read '" + path + "'");
    return bytes;
}

// The memory a model may take natively, like the browser's 4 GiB ceiling: what the address-space
// limit (ulimit -v) leaves beside what this process already maps, and at most the memory the
// system has available (MemAvailable + SwapFree). A model past it is refused with the figure by
// Model::load instead of ending in bad_alloc or the OOM killer.
uint64_t available_memory() {
    uint64_t avail = UINT64_MAX;
    struct rlimit rl;
    if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        uint64_t mapped = 0;  // bytes of address space in use: the first field of /proc/self/statm, in pages
        if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
            unsigned long long pages = 0;
            if (std::fscanf(f, "%llu", &pages) == 1) mapped = pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
            std::fclose(f);
        }
        const uint64_t slack = 64ull << 20;  // stacks, the tokenizer, small allocations
        const uint64_t limit = static_cast<uint64_t>(rl.rlim_cur);
        avail = limit > mapped + slack ? limit - mapped - slack : 0;
    }
    if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
        char key[64];
        unsigned long long kib;
        uint64_t sys = 0;
        bool found = false;
        while (std::fscanf(f, "%63s %llu kB", key, &kib) == 2) {
            if (!std::strcmp(key, "MemAvailable:") || !std::strcmp(key, "SwapFree:")) {
                sys += kib << 10;
                found = true;
            }
        }
        std::fclose(f);
        if (found) avail = std::min(avail, sys);
    }
    return avail;
}

gpt::WeightsIn weights_in(const Args& a) {
    if (!a.has("weights-in")) return gpt::WeightsIn::automatic;
    auto w = gpt::parse_weights_in(a.str("weights-in"));
    if (!w) fail(2, "--weights-in: " + w.error());
    return w.value();
}

// Streams a checkpoint from disk into a model a piece at a time (loader.h): the file is never held
// whole, so a model loads in about its own size, not file + model.
gpt::Model load_checkpoint(const std::string& path, const gpt::CheckpointFiles& side, gpt::WeightsIn w) {
    uint64_t size = 0;
    std::FILE* f = open_regular(path, &size);
    gpt::ModelLoader loader(side, size, available_memory(), w);
    std::vector<uint8_t> piece(1 << 20);
    gpt::Status s;
    while (s) {
        const size_t got = std::fread(piece.data(), 1, piece.size(), f);
        if (got == 0) break;
        s = loader.feed(piece.data(), got);
    }
    const bool bad = std::ferror(f);
    std::fclose(f);
    if (bad) fail(1, "cannot read '" + path + "'");
    auto m = s ? loader.finish() : gpt::Result<gpt::Model>::fail(s.error);
    if (!m) fail(1, "cannot load '" + path + "': " + m.error());
    return m.take();
}

gpt::Model load_model(const Args& a) {
    const std::string path = a.str("weights");
    gpt::CheckpointFiles files;
    auto text = [&](const char* option, std::string* out) {
        if (!a.has(option)) return;
        const std::vector<uint8_t> b = read_file(a.str(option));
        out->assign(b.begin(), b.end());
    };
    text("tokenizer", &files.tokenizer_json);
    text("vocab", &files.vocab_json);
    text("merges", &files.merges_txt);
    text("config", &files.config_json);
    return load_checkpoint(path, files, weights_in(a));
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

gpt::Interventions interventions(const Args& a, const gpt::Model& m) {
    gpt::Interventions iv(m.config());
    for (const char* option : {"ablate", "uniform"}) {
        if (!a.has(option)) continue;
        const auto mode = std::string(option) == "ablate" ? gpt::HeadMode::off : gpt::HeadMode::uniform;
        if (gpt::Status st = iv.set_list(a.str(option), mode); !st) fail(2, "--" + std::string(option) + ": " + st.error);
    }
    return iv;
}

std::vector<int> prompt_window(const Args& a, const gpt::Model& m) {
    std::vector<int> tokens = encode(m, a.str("prompt"));
    if (tokens.empty()) fail(1, "the prompt is empty");
    const int T = m.config().block_size;
    if (static_cast<int>(tokens.size()) > T) {
        std::fprintf(stderr, "gpt: the prompt has %zu tokens; showing its last %d (the context window)\n", tokens.size(), T);
        tokens.erase(tokens.begin(), tokens.end() - T);
    }
    return tokens;
}

std::string read_split(const Args& a, std::string* where) {
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
    *where = "split " + split + ", characters " + std::to_string(from) + ".." + std::to_string(to);
    return text.substr(starts[from], starts[to] - starts[from]);
}

}  // namespace cli

namespace {

using namespace cli;

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
    g.set_interventions(interventions(a, m));  // shaped for m: cannot fail
    if (gpt::Status st = g.start(encode(m, prompt), seed); !st) fail(1, st.error);
    std::fputs(prompt.c_str(), stdout);
    gpt::Utf8Stream text;  // a BPE token may end inside a UTF-8 character
    for (long i = 0; i < n; i++) {
        const auto step = g.step(s);
        if (!step.ok()) {
            std::fputs((text.flush() + "\n").c_str(), stdout);
            fail(1, step.error);
        }
        std::fputs(text.push(m.tokenizer().token_bytes(step.token)).c_str(), stdout);
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
    const std::vector<int> tokens = prompt_window(a, m);
    const gpt::Interventions iv = interventions(a, m);
    gpt::RunState s(c);
    if (gpt::Status st = gpt::forward(m, s, tokens.data(), static_cast<int>(tokens.size()), 0, {&iv}); !st) fail(1, st.error);
    if (gpt::Status st = gpt::check_attention(s); !st) fail(1, st.error);

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
    std::string where;
    const std::string text = read_split(a, &where);
    const gpt::Interventions iv = interventions(a, m);
    const std::vector<int> tokens = encode(m, text);
    gpt::RunState s(m.config());
    const auto r = gpt::mean_loss(m, s, tokens, {&iv});
    if (!r) fail(1, r.error());
    std::printf("loss %.6f nats/token over %ld targets (%ld windows of up to %d tokens, %s)\n", r->mean_nats, r->targets,
                r->windows, m.config().block_size, where.c_str());
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
    std::printf("weights in  %s (%s in memory)\n", gpt::format_name(m.weights_format()),
                gpt::format_bytes(m.weights_bytes()).c_str());
    std::printf("layout      %s\n", m.layout().c_str());
    std::printf("tokenizer   %s (%d tokens)\n", m.tokenizer().kind(), m.tokenizer().vocab_size());
    std::printf("lm_head     %s\n", m.weights().tied() ? "tied to wte" : "separate");
    std::printf("kernels     %s (%d float lanes)\n", GPT_SIMD ? gpt::ops::simd_arch_name() : "scalar",
                GPT_SIMD ? gpt::ops::simd_lanes() : 1);
    return 0;
}

}  // namespace

int cmd_train(int argc, char** argv);  // cli/train.cpp

int run(int argc, char** argv) {
    if (argc < 2) fail(2, "no command");
    const std::string cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "generate") {
        return cmd_generate(parse_args(argc, argv, {"weights", "prompt", "tokens", "temperature", "top-k", "top-p", "seed", "ablate", "uniform"}));
    }
    if (cmd == "attention") return cmd_attention(parse_args(argc, argv, {"weights", "prompt", "layer", "head", "ablate", "uniform"}));
    if (cmd == "loss") return cmd_loss(parse_args(argc, argv, {"weights", "data", "split", "limit", "ablate", "uniform"}));
    if (cmd == "explain") return cmd_explain(parse_args(argc, argv, {"weights", "prompt", "layer", "head", "position", "ablate", "uniform"}));
    if (cmd == "lens") return cmd_lens(parse_args(argc, argv, {"weights", "prompt", "position", "top", "ablate", "uniform"}));
    if (cmd == "heads") return cmd_heads(parse_args(argc, argv, {"weights", "data", "split", "limit"}));
    if (cmd == "info") return cmd_info(parse_args(argc, argv, {"weights"}));
    if (cmd == "train") return cmd_train(argc, argv);
    fail(2, "unknown command '" + cmd + "'");
}

// The engine answers bad input with values; this is the last line of defence for what it cannot
// foresee (the system refusing memory that available_memory() thought was there).
int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::bad_alloc&) {
        fail(1, "out of memory: the system refused an allocation (see 'gpt info' for what the model needs)");
    } catch (const std::exception& e) {
        fail(1, std::string("unexpected error: ") + e.what());
    }
}
