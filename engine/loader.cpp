#include "loader.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "safetensors.h"

namespace gpt {

// Where one tensor of the file goes. A tensor is taken a row at a time: row_elems consecutive
// elements as stored (K of a matrix W(M, K), the whole of a vector), except a transposed one,
// which is taken whole.
struct ModelLoader::Dest {
    int source = -1;        // its index in ck_->tensors; -1: a tensor the engine ignores (mask buffers)
    size_t row_elems = 0;
    float* f32 = nullptr;   // float32 storage (numel), or else
    uint8_t* data = nullptr;  // a compact matrix (M, K) in the model's format,
    float* scales = nullptr;  // and its Q8 scales (M, q8_groups(K))
};

ModelLoader::ModelLoader(const CheckpointFiles& side, uint64_t file_size, uint64_t max_memory, WeightsIn weights_in)
    : side_(side), file_size_(file_size), max_memory_(max_memory), weights_in_(weights_in) {
    side_.weights = nullptr;
    side_.weights_size = 0;
}

ModelLoader::~ModelLoader() = default;

uint64_t ModelLoader::held_bytes() const {
    return (model_ ? model_->weights_bytes() : 0) + head_.capacity() + pending_.capacity() + 4 * scratch_.capacity();
}

void ModelLoader::note_peak() { peak_ = std::max(peak_, held_bytes()); }

Status ModelLoader::fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    // Nothing of a failed load is kept.
    model_.reset();
    ck_.reset();
    std::vector<uint8_t>().swap(head_);
    std::vector<uint8_t>().swap(pending_);
    std::vector<float>().swap(scratch_);
    return Status::fail(error_);
}

Status ModelLoader::feed(const uint8_t* bytes, size_t n) {
    if (!error_.empty()) return Status::fail(error_);
    if (done_) return Status::fail("this load has finished");
    if (n > file_size_ - received_) {
        return fail("more bytes than the file's " + std::to_string(file_size_) + " arrived: the file changed while it was read");
    }
    if (!ck_ && head_.empty() && n >= 8) {
        // The whole header in this piece (always so for Model::load): parsed where it lies, not copied.
        const uint64_t len = safetensors::header_bytes(bytes);
        if (len > 0 && len <= file_size_ - 8 && len <= safetensors::Limits().max_header_bytes && len <= n - 8) {
            const size_t end = static_cast<size_t>(8 + len);
            header_end_ = end;
            received_ += end;
            if (Status s = parse_header(bytes, end, bytes + end, n - end); !s) return s;
            bytes += end, n -= end;
        }
    }
    while (n > 0 && !ck_) {  // the header, arriving in pieces
        const uint64_t want = header_end_ ? header_end_ : 8;
        const size_t k = static_cast<size_t>(std::min<uint64_t>(n, want - head_.size()));
        head_.insert(head_.end(), bytes, bytes + k);
        bytes += k, n -= k, received_ += k;
        note_peak();
        if (head_.size() == 8 && !header_end_) {
            const uint64_t len = safetensors::header_bytes(head_.data());
            // A length that cannot be right is refused now, with parse's own message, before any
            // of it is kept.
            if (len == 0 || len > file_size_ - 8 || len > safetensors::Limits().max_header_bytes) {
                auto r = safetensors::parse_header(head_.data(), head_.size(), file_size_);
                return fail(r ? "the header is not all there" : r.error());
            }
            header_end_ = 8 + len;
            head_.reserve(static_cast<size_t>(header_end_));
        }
        if (header_end_ && head_.size() == header_end_) {
            if (Status s = parse_header(head_.data(), head_.size(), bytes, n); !s) return s;
        }
    }
    if (n > 0) {
        if (Status s = take(bytes, n); !s) return s;
        received_ += n;
    }
    return Status::success();
}

// The header (the file's first header_size bytes) is all here: validate the whole checkpoint and
// allocate the model. `rest`: the n
// bytes that came with the header's end; when they are the whole data section (Model::load), the
// checkpoint may read them (to see that an lm_head equals wte).
Status ModelLoader::parse_header(const uint8_t* header, size_t header_size, const uint8_t* rest, size_t n) {
    auto file = safetensors::parse_header(header, header_size, file_size_);
    if (!file) return fail(file.error());
    if (n == file->data_size) file->data = rest;
    auto read = read_checkpoint(file.take(), side_, max_memory_, weights_in_);
    if (!read) return fail(read.error());
    ck_ = std::make_unique<Checkpoint>(read.take());
    side_ = CheckpointFiles();  // read; the tokenizer is built
    std::vector<uint8_t>().swap(head_);

    Checkpoint& ck = *ck_;
    model_.reset(new Model());
    Model& m = *model_;
    m.config_ = ck.config;
    m.layout_ = ck.layout;
    m.format_ = ck.format;
    m.tokenizer_ = std::move(ck.tokenizer);
    m.weights_.layers.resize(static_cast<size_t>(m.config_.n_layer));
    const bool compact = m.format_ != ops::WFormat::F32;

    // The storage, in its final format: float32 for every tensor of a float32 model and for the
    // vectors of a compact one; the compact matrices one after the other, each part aligned.
    size_t floats = 0, compact_bytes = 0;
    std::set<std::string> dtypes;
    for (const auto& src : ck.tensors) {
        m.num_params_ += src.stored->numel;
        dtypes.insert(safetensors::dtype_name(src.stored->dtype));
        if (compact && src.spec.matrix()) compact_bytes += static_cast<size_t>(tensor_bytes(src.spec, m.format_));
        else floats += src.stored->numel;
    }
    m.dtype_ = dtypes.size() == 1 ? *dtypes.begin() : "mixed";
    m.params_.resize(floats);
    m.compact_.resize(compact_bytes);
    note_peak();

    const auto& tensors = ck.file.tensors;
    dest_.assign(tensors.size(), Dest());
    size_t at = 0, at_compact = 0;
    for (size_t i = 0; i < ck.tensors.size(); i++) {
        const Checkpoint::Source& src = ck.tensors[i];
        Dest& d = dest_[static_cast<size_t>(src.stored - tensors.data())];
        d.source = static_cast<int>(i);
        d.row_elems = src.stored->shape.size() == 2 && !src.transpose ? static_cast<size_t>(src.stored->shape[1]) : src.stored->numel;
        if (compact && src.spec.matrix()) {
            const uint64_t M = static_cast<uint64_t>(src.spec.shape[0]), K = static_cast<uint64_t>(src.spec.shape[1]);
            d.data = m.compact_.data() + at_compact;
            d.scales = reinterpret_cast<float*>(d.data + align_up(matrix_data_bytes(m.format_, M, K)));
            src.spec.point(m.weights_, ops::WeightView{m.format_, d.data, m.format_ == ops::WFormat::Q8 ? d.scales : nullptr});
            at_compact += static_cast<size_t>(tensor_bytes(src.spec, m.format_));
        } else {
            d.f32 = m.params_.data() + at;
            src.spec.point(m.weights_, d.f32);
            at += src.stored->numel;
        }
    }
    return Status::success();
}

namespace {
Status non_finite(const std::string& name, size_t i) {
    return Status::fail("tensor '" + name + "' holds a non-finite value (NaN or infinity) at element " + std::to_string(i));
}
// row (K floats) into row r of a compact matrix.
Status to_format(ops::WFormat f, uint8_t* data, float* scales, size_t r, const float* row, int K, const std::string& name) {
    if (f == ops::WFormat::F16) {
        const long bad = to_f16_row(reinterpret_cast<uint16_t*>(data) + r * static_cast<size_t>(K), row, K);
        if (bad >= 0) {
            return Status::fail("tensor '" + name + "' holds " + std::to_string(row[bad]) +
                                ", beyond float16's range: load it as f32 or int8");
        }
    } else {
        quantize_q8_row(reinterpret_cast<int8_t*>(data) + r * static_cast<size_t>(K),
                        scales + r * static_cast<size_t>(ops::q8_groups(K)), row, K);
    }
    return Status::success();
}
}  // namespace

// Rows r0 .. r0+rows-1 of a tensor stored as the engine lays it out, from `bytes`.
Status ModelLoader::store_rows(const Checkpoint::Source& src, const Dest& d, size_t r0, size_t rows, const uint8_t* bytes) {
    const safetensors::TensorInfo& t = *src.stored;
    const size_t K = d.row_elems, ds = safetensors::dtype_size(t.dtype);
    safetensors::TensorInfo part = t;
    if (d.f32) {
        part.numel = rows * K;
        const long bad = safetensors::to_f32(part, bytes, d.f32 + r0 * K);
        return bad < 0 ? Status::success() : non_finite(t.name, r0 * K + static_cast<size_t>(bad));
    }
    if (scratch_.size() < K) scratch_.resize(K);
    part.numel = K;
    for (size_t r = 0; r < rows; r++) {
        const long bad = safetensors::to_f32(part, bytes + r * K * ds, scratch_.data());
        if (bad >= 0) return non_finite(t.name, (r0 + r) * K + static_cast<size_t>(bad));
        if (Status s = to_format(model_->format_, d.data, d.scales, r0 + r, scratch_.data(), static_cast<int>(K), t.name); !s) {
            return s;
        }
    }
    return Status::success();
}

// A tensor stored (in, out) = (K, M), whole, into W(M, K).
Status ModelLoader::store_transposed(const Checkpoint::Source& src, const Dest& d, const uint8_t* bytes) {
    const safetensors::TensorInfo& t = *src.stored;
    const size_t K = static_cast<size_t>(t.shape[0]), M = static_cast<size_t>(t.shape[1]);
    scratch_.resize(t.numel + (d.f32 ? 0 : K));  // the stored tensor, then one row of W
    note_peak();
    const long bad = safetensors::to_f32(t, bytes, scratch_.data());
    if (bad >= 0) return non_finite(t.name, static_cast<size_t>(bad));
    for (size_t r = 0; r < M; r++) {
        float* row = d.f32 ? d.f32 + r * K : scratch_.data() + t.numel;
        for (size_t k = 0; k < K; k++) row[k] = scratch_[k * M + r];
        if (!d.f32) {
            if (Status s = to_format(model_->format_, d.data, d.scales, r, row, static_cast<int>(K), t.name); !s) return s;
        }
    }
    std::vector<float>().swap(scratch_);  // a tensor's worth: not kept
    return Status::success();
}

Status ModelLoader::take(const uint8_t* bytes, size_t n) {
    const auto& tensors = ck_->file.tensors;
    while (n > 0) {
        const safetensors::TensorInfo& t = tensors[next_];  // n > 0 bytes left: the tiling says there is one
        const Dest& d = dest_[next_];
        const uint64_t size = t.end - t.begin;
        size_t used = 0;
        if (d.source < 0) {  // skipped
            used = static_cast<size_t>(std::min<uint64_t>(n, size - into_next_));
        } else {
            const Checkpoint::Source& src = ck_->tensors[static_cast<size_t>(d.source)];
            // What is kept back until complete: the whole tensor when transposed, else one row.
            const size_t unit = src.transpose ? static_cast<size_t>(size) : d.row_elems * safetensors::dtype_size(t.dtype);
            if (pending_.empty() && n >= unit) {
                // Whole units straight from the caller's bytes.
                const size_t units = src.transpose ? 1 : static_cast<size_t>(std::min<uint64_t>(n / unit, (size - into_next_) / unit));
                const Status s = src.transpose ? store_transposed(src, d, bytes)
                                               : store_rows(src, d, static_cast<size_t>(into_next_ / unit), units, bytes);
                if (!s) return fail(s.error);
                used = units * unit;
            } else {
                if (pending_.empty()) pending_.reserve(unit);
                used = std::min(n, unit - pending_.size());
                pending_.insert(pending_.end(), bytes, bytes + used);
                note_peak();
                if (pending_.size() == unit) {
                    const Status s = src.transpose ? store_transposed(src, d, pending_.data())
                                                   : store_rows(src, d, static_cast<size_t>((into_next_ + used) / unit - 1), 1, pending_.data());
                    if (!s) return fail(s.error);
                    pending_.clear();
                    if (src.transpose) std::vector<uint8_t>().swap(pending_);
                }
            }
        }
        bytes += used, n -= used, into_next_ += used;
        if (into_next_ == size) next_++, into_next_ = 0;
    }
    return Status::success();
}

Result<Model> ModelLoader::finish() {
    if (!error_.empty()) return Result<Model>::fail(error_);
    if (done_) return Result<Model>::fail("this load has finished");
    if (!ck_) {
        // The header never came whole: parse says why ("file too small", ...).
        auto r = safetensors::parse_header(head_.data(), head_.size(), file_size_);
        const std::string why = !r ? r.error() : "the file ended inside its header";
        fail(received_ < file_size_ ? "the file ended after " + std::to_string(received_) + " of its " +
                                          std::to_string(file_size_) + " bytes"
                                    : why);
        return Result<Model>::fail(error_);
    }
    if (received_ < file_size_) {
        fail("the file ended after " + std::to_string(received_) + " of its " + std::to_string(file_size_) + " bytes");
        return Result<Model>::fail(error_);
    }
    Model& m = *model_;
    if (ck_->head_maybe_tied) {
        // lm_head came as its own tensor: the same bytes as wte (converted alike) mean tied.
        const Weights& w = m.weights_;
        const TensorSpec head = lm_head_spec(m.config_);
        const size_t bytes = static_cast<size_t>(tensor_bytes(head, m.format_));
        if (std::memcmp(w.lm_head.data, w.wte.data, bytes) == 0) {
            m.weights_.lm_head = w.wte;  // its storage stays allocated: the price of not seeing the data first
            m.num_params_ -= static_cast<size_t>(head.numel());
        }
    }
    if (!m.weights_.lm_head.data) m.weights_.lm_head = m.weights_.wte;  // tied
    done_ = true;
    ck_.reset();
    Model out = std::move(m);
    model_.reset();
    return out;
}

}  // namespace gpt
