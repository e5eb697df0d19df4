#include "heads.h"

#include <cmath>

#include "loss.h"
#include "probe.h"
#include "sampler.h"

namespace gpt {

namespace {

// Sums, per head, what the rows it sees say: the previous-token probability and the entropy (on
// the text), or the induction probability (on repeated sequences, period > 0).
class RowStats final : public Observer {
  public:
    RowStats(const Config& c, int period) : c_(c), period_(period), sum_(static_cast<size_t>(c.n_layer) * c.n_head * 2), rows_(sum_.size() / 2) {}
    bool wants(int) const override { return true; }
    void residual(int, int, const float*) override {}
    void attn_output(int, int, const float*) override {}
    void mlp_output(int, int, const float*) override {}
    void head_scores(int, int, int, const float*, const float*) override {}
    void head_output(int layer, int head, int pos, const float* probs, const float*) override {
        const size_t k = static_cast<size_t>(layer) * c_.n_head + head;
        if (period_ > 0) {
            if (pos < period_) return;
            sum_[2 * k] += probs[pos - period_ + 1];
        } else {
            if (pos < 1) return;
            sum_[2 * k] += probs[pos - 1];
            double h = 0;
            for (int j = 0; j <= pos; j++)
                if (probs[j] > 0) h -= probs[j] * std::log(static_cast<double>(probs[j]));
            sum_[2 * k + 1] += h;
        }
        rows_[k]++;
    }
    double mean(size_t k, int which) const { return rows_[k] ? sum_[2 * k + which] / static_cast<double>(rows_[k]) : 0; }

  private:
    const Config& c_;
    int period_;
    std::vector<double> sum_;  // (L * NH, 2)
    std::vector<long> rows_;   // (L * NH)
};

}  // namespace

HeadStudy::HeadStudy(const Model& m, std::vector<int> tokens)
    : m_(&m), tokens_(std::move(tokens)), s_(m.config()), roles_(static_cast<size_t>(m.config().n_layer) * m.config().n_head) {}

Result<HeadStudy> HeadStudy::start(const Model& m, std::vector<int> tokens) {
    HeadStudy st(m, std::move(tokens));
    const Config& c = m.config();
    RowStats text(c, 0);
    const auto base = mean_loss(m, st.s_, st.tokens_, {nullptr, &text});
    if (!base) return Result<HeadStudy>::fail(base.error());
    st.loss_ = base->mean_nats;

    RowStats repeated(c, period(c));
    for (const auto& seq : repeated_sequences(c)) {
        if (Status s = forward(m, st.s_, seq.data(), static_cast<int>(seq.size()), 0, {nullptr, &repeated}); !s) {
            return Result<HeadStudy>::fail(s.error);
        }
    }
    for (size_t k = 0; k < st.roles_.size(); k++) {
        st.roles_[k].prev_token = text.mean(k, 0);
        st.roles_[k].entropy = text.mean(k, 1);
        st.roles_[k].induction = repeated.mean(k, 0);
    }
    return st;
}

std::vector<std::vector<int>> HeadStudy::repeated_sequences(const Config& c) {
    const int N = period(c);
    Rng rng(0);
    std::vector<std::vector<int>> out;
    for (int k = 0; k < kSequences; k++) {
        std::vector<int> seq(static_cast<size_t>(2 * N));
        for (int i = 0; i < N; i++) seq[i] = seq[i + N] = static_cast<int>(rng.next_u32() % static_cast<uint32_t>(c.vocab_size));
        out.push_back(std::move(seq));
    }
    return out;
}

bool HeadStudy::next() {
    if (done_ >= heads()) return false;
    const Config& c = m_->config();
    Interventions iv(c);
    iv.modes[static_cast<size_t>(done_)] = HeadMode::off;
    // Cannot fail: start() ran the same tokens.
    const auto r = mean_loss(*m_, s_, tokens_, {&iv});
    roles_[static_cast<size_t>(done_)].loss_increase = r ? r->mean_nats - loss_ : 0;
    done_++;
    return true;
}

}  // namespace gpt
