// Loading a checkpoint whose bytes arrive in order — a download, a file read in pieces — without
// ever holding the whole file (issue 14, "Loading without doubling the memory").
//
// The header is parsed and the whole checkpoint validated (read_checkpoint: layout, config, memory,
// tokenizer, names and shapes) as soon as the header has arrived; the model's storage is then
// allocated in its final format, and every tensor is converted into it as its bytes come in: a row
// at a time, the moment the row is complete, so only a row that straddles two pieces is kept back.
// A tensor stored transposed (Hugging Face's Conv1D [in, out]) needs all of itself first: it is
// the one tensor kept whole. Peak memory while loading is the model plus that tensor plus the
// header, never file + model. Model::load(bytes) is this loader fed the whole file at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "model.h"
#include "result.h"
#include "weights_format.h"

namespace gpt {

class ModelLoader {
  public:
    // side: the files that come beside the weights (tokenizer.json, config.json, ...; its weights
    // fields are ignored). file_size: the checkpoint's size in bytes, known before its bytes are (a
    // download's Content-Length, a file's size).
    ModelLoader(const CheckpointFiles& side, uint64_t file_size, uint64_t max_memory = UINT64_MAX,
                WeightsIn weights_in = WeightsIn::automatic);
    ~ModelLoader();
    ModelLoader(const ModelLoader&) = delete;
    ModelLoader& operator=(const ModelLoader&) = delete;

    // The file's next n bytes. Fails at the first problem: the header's or the checkpoint's (the
    // same messages as Model::load), a non-finite weight, more bytes than file_size. After a
    // failure every call fails with the same message.
    Status feed(const uint8_t* bytes, size_t n);
    // The model, once all file_size bytes have been fed; a file that ended early is refused.
    Result<Model> finish();

    uint64_t received() const { return received_; }
    uint64_t file_size() const { return file_size_; }
    // The engine's own accounting of the memory this load holds: the model's storage once
    // allocated, the header until it is parsed, the row or tensor kept back, the conversion
    // scratch. peak_bytes: the most it held at once.
    uint64_t held_bytes() const;
    uint64_t peak_bytes() const { return peak_; }

  private:
    struct Dest;  // where one tensor of the checkpoint goes in the model (loader.cpp)
    Status fail(std::string message);
    Status parse_header(const uint8_t* header, size_t header_size, const uint8_t* rest, size_t n);
    Status store_rows(const Checkpoint::Source& src, const Dest& d, size_t r0, size_t rows, const uint8_t* bytes);
    Status store_transposed(const Checkpoint::Source& src, const Dest& d, const uint8_t* bytes);
    Status take(const uint8_t* bytes, size_t n);  // data section bytes, in order
    void note_peak();

    CheckpointFiles side_;
    uint64_t file_size_, max_memory_;
    WeightsIn weights_in_;
    uint64_t received_ = 0;
    std::string error_;          // the first failure, repeated by every later call
    std::vector<uint8_t> head_;  // the 8 length bytes, then the header, until parsed
    uint64_t header_end_ = 0;    // 8 + the header length, once those 8 bytes are in
    std::unique_ptr<Checkpoint> ck_;  // once the header is parsed
    std::unique_ptr<Model> model_;    // its storage allocated with the checkpoint
    std::vector<Dest> dest_;          // per tensor of the file (data order): its destination
    size_t next_ = 0;                 // the file tensor whose bytes come next
    uint64_t into_next_ = 0;          // bytes of it already taken
    std::vector<uint8_t> pending_;    // the part of a row (or transposed tensor) that has arrived
    std::vector<float> scratch_;      // (row or tensor) float32 values on their way to the format
    uint64_t peak_ = 0;
    bool done_ = false;
};

}  // namespace gpt
