// gpt train: trains a character-level GPT on a text file (engine/trainer.h) and writes it as a
// checkpoint `gpt generate` loads.
//
//   gpt train --data FILE --out F.safetensors [--preset tiny|small|shakespeare]
//             [--n-layer 2 --n-head 4 --n-embd 64 --block-size 64] [--gelu tanh|exact]
//             [--batch 16] [--steps 1000] [--lr 3e-3] [--min-lr LR/10] [--warmup W]
//             [--seed 1337] [--init F.safetensors [--weights-in auto|f32|f16|int8]] [--sequential] [--dump-grads G.safetensors]
//             [--eval-every N] [--eval-windows 64] [--threads 1]
// --threads N: the steps on N threads, with the same results bit for bit (engine/parallel.h).
// Prints step, train loss (mean since the last line), validation loss (the last 10% of the text),
// learning rate and tokens/s. Bad arguments: one line on stderr, exit 2; bad files: exit 1.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "../checkpoint.h"
#include "../model.h"
#include "../parallel.h"
#include "../trainer.h"
#include "cli.h"

namespace {

using cli::read_file;  // refuses directories and other non-files by name

const char* kTrainUsage = "usage: gpt train --data FILE --out F.safetensors [--preset NAME] [--n-layer 2 --n-head 4 --n-embd 64 "
                   "--block-size 64] [--gelu tanh|exact] [--batch 16] [--steps 1000] [--lr 3e-3] [--min-lr LR/10] "
                   "[--warmup W] [--seed 1337] [--init F.safetensors [--weights-in auto|f32|f16|int8]] [--sequential] [--dump-grads G.safetensors] "
                   "[--eval-every N] [--eval-windows 64] [--threads 1]\n";

[[noreturn]] void fail(int code, const std::string& msg) {
    std::fprintf(stderr, "gpt train: %s\n", msg.c_str());
    if (code == 2) std::fputs(kTrainUsage, stderr);
    std::exit(code);
}

struct Options {
    std::map<std::string, std::string> v;
    bool has(const std::string& k) const { return v.count(k) != 0; }
    long integer(const std::string& k, long def, long lo, long hi) const {
        if (!has(k)) return def;
        const std::string& s = v.at(k);
        errno = 0;
        char* end = nullptr;
        const long x = std::strtol(s.c_str(), &end, 10);
        if (s.empty() || *end || errno || x < lo || x > hi) {
            fail(2, "--" + k + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + s + "'");
        }
        return x;
    }
    double number(const std::string& k, double def) const {
        if (!has(k)) return def;
        const std::string& s = v.at(k);
        char* end = nullptr;
        const double x = std::strtod(s.c_str(), &end);
        if (s.empty() || *end || !std::isfinite(x)) fail(2, "--" + k + " must be a number, got '" + s + "'");
        return x;
    }
};

Options parse(int argc, char** argv) {
    const std::set<std::string> values = {"data", "out", "preset", "n-layer", "n-head", "n-embd", "block-size", "gelu",
                                          "batch", "steps", "lr", "min-lr", "warmup", "seed", "init", "weights-in", "dump-grads",
                                          "eval-every", "eval-windows", "threads"};
    const std::set<std::string> flags = {"sequential"};
    Options o;
    for (int i = 2; i < argc; i++) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kTrainUsage, stdout);
            std::exit(0);
        }
        if (arg.rfind("--", 0) != 0) fail(2, "unexpected argument '" + arg + "'");
        const size_t eq = arg.find('=');
        const std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        if (flags.count(key)) {
            if (eq != std::string::npos) fail(2, "--" + key + " takes no value");
            o.v[key] = "1";
        } else if (!values.count(key)) {
            fail(2, "unknown option '--" + key + "' for 'train'");
        } else if (eq != std::string::npos) {
            o.v[key] = arg.substr(eq + 1);
        } else {
            if (i + 1 >= argc) fail(2, "option '" + arg + "' needs a value");
            o.v[key] = argv[++i];
        }
    }
    return o;
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream f(path, std::ios::binary);
    if (f) f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) fail(1, "cannot write '" + path + "': " + std::strerror(errno));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int cmd_train(int argc, char** argv) {
    const Options o = parse(argc, argv);
    if (!o.has("data")) fail(2, "missing --data");
    if (!o.has("out") && !o.has("dump-grads")) fail(2, "missing --out (or --dump-grads)");
    gpt::parallel::set_threads(static_cast<int>(o.integer("threads", 1, 1, gpt::parallel::kMaxThreads)));

    // Without --preset, the defaults of the issue: 2 x 4 x 64, context 64, batch 16, lr 3e-3.
    const gpt::Preset defaults = {"default", "", 2, 4, 64, 64, 16, 3e-3f};
    const gpt::Preset* preset = o.has("preset") ? gpt::find_preset(o.v.at("preset")) : &defaults;
    if (!preset) {
        std::string names;
        for (const gpt::Preset& p : gpt::presets()) names += (names.empty() ? "" : ", ") + std::string(p.name);
        fail(2, "--preset must be one of " + names + ", got '" + o.v.at("preset") + "'");
    }
    gpt::Config arch;
    arch.n_layer = static_cast<int>(o.integer("n-layer", preset->n_layer, 1, 128));
    arch.n_head = static_cast<int>(o.integer("n-head", preset->n_head, 1, 256));
    arch.n_embd = static_cast<int>(o.integer("n-embd", preset->n_embd, 1, 16384));
    arch.block_size = static_cast<int>(o.integer("block-size", preset->block_size, 1, 16384));
    const std::string gelu = o.has("gelu") ? o.v.at("gelu") : "tanh";
    if (gelu != "tanh" && gelu != "exact") fail(2, "--gelu must be tanh or exact, got '" + gelu + "'");
    arch.gelu_exact = gelu == "exact";

    gpt::TrainSettings s;
    s.batch = static_cast<int>(o.integer("batch", preset->batch, 1, 4096));
    s.steps = static_cast<int>(o.integer("steps", 1000, 1, 100000000));
    s.lr = static_cast<float>(o.number("lr", preset->lr));
    s.min_lr = static_cast<float>(o.number("min-lr", s.lr / 10));
    s.warmup = static_cast<int>(o.integer("warmup", std::min(100, s.steps / 10), 0, 100000000));
    if (gpt::Status st = gpt::validate(s); !st) fail(2, st.error);
    const auto seed = static_cast<uint64_t>(o.integer("seed", 1337, 0, 4294967295L));
    const int eval_every = static_cast<int>(o.integer("eval-every", std::max(1, s.steps / 10), 1, 100000000));
    const int eval_windows = static_cast<int>(o.integer("eval-windows", 64, 1, 1 << 20));

    std::unique_ptr<gpt::Model> init;
    if (o.has("weights-in") && !o.has("init")) fail(2, "--weights-in applies to the --init checkpoint: give --init");
    if (o.has("init")) {
        for (const char* k : {"preset", "n-layer", "n-head", "n-embd", "block-size", "gelu"}) {
            if (o.has(k)) fail(2, std::string("--init takes the model's shape from the checkpoint: drop --") + k);
        }
        // Loaded as --weights-in says (default auto), then widened to float32: training is float32.
        gpt::WeightsIn wi = gpt::WeightsIn::automatic;
        if (o.has("weights-in")) {
            auto parsed = gpt::parse_weights_in(o.v.at("weights-in"));
            if (!parsed) fail(2, "--weights-in: " + parsed.error());
            wi = parsed.value();
        }
        init = std::make_unique<gpt::Model>(cli::load_checkpoint(o.v.at("init"), {}, wi));
    }
    const std::vector<uint8_t> data = read_file(o.v.at("data"));
    auto created = gpt::Trainer::create(std::string(data.begin(), data.end()), arch, s, seed, o.has("sequential"), init.get());
    if (!created) fail(1, "'" + o.v.at("data") + "': " + created.error());
    gpt::Trainer& t = created.value();
    const gpt::Config& c = t.config();
    std::fprintf(stderr, "model: %d layers x %d heads, %d wide, context %d, %d characters, %zu parameters%s\n", c.n_layer,
                 c.n_head, c.n_embd, c.block_size, c.vocab_size, t.state().params().size(),
                 init ? (" (from " + o.v.at("init") + ")").c_str() : "");
    std::fprintf(stderr, "training: %zu train / %zu validation characters, batch %d x %d, %d steps, memory %s\n",
                 t.corpus().n_train, t.corpus().tokens.size() - t.corpus().n_train, s.batch, c.block_size, s.steps,
                 gpt::format_bytes(gpt::train_memory(c, s.batch)).c_str());

    if (o.has("dump-grads")) {
        const auto loss = t.gradients_of_first_batch();
        if (!loss) fail(1, loss.error());
        write_file(o.v.at("dump-grads"), gpt::write_checkpoint(c, t.corpus().vocab, t.state().grads()));
        std::printf("loss %.6f; gradients of the first batch written to %s\n", loss.value(), o.v.at("dump-grads").c_str());
        return 0;
    }

    double since = 0;
    int since_n = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double timed = 0;  // seconds spent in steps (evaluations excluded)
    for (int i = 0; i < s.steps; i++) {
        const auto ts = std::chrono::steady_clock::now();
        const gpt::StepReport r = t.step();
        timed += seconds_since(ts);
        since += r.loss;
        since_n++;
        if (!std::isfinite(r.loss)) fail(1, "the loss diverged at step " + std::to_string(i) + ": lower --lr");
        if ((i + 1) % eval_every == 0 || i + 1 == s.steps) {
            const auto val = t.validation_loss(eval_windows);
            std::printf("step %5d  train %.4f  val %s  lr %.2e  %.0f tokens/s\n", i + 1, since / since_n,
                        val ? std::to_string(val.value()).substr(0, 6).c_str() : "-", r.lr,
                        static_cast<double>(t.tokens_per_step()) * (i + 1) / timed);
            std::fflush(stdout);
            since = 0;
            since_n = 0;
        }
    }
    write_file(o.v.at("out"), t.export_checkpoint());
    std::fprintf(stderr, "wrote %s (%.1f s)\n", o.v.at("out").c_str(), seconds_since(t0));
    return 0;
}
