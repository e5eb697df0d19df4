# The native CLI as a user meets it: good commands work; bad arguments and files give one line on
# stderr and a non-zero exit, never a crash.   cmake -DGPT=path/to/gpt -DDATA=tests/data -P this
set(W ${DATA}/tiny-f32.safetensors)

include(${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake)

expect(0 "n_layer +2\nn_head +4\nn_embd +64" info --weights ${W})
expect(0 "dtype +F16" info --weights ${DATA}/tiny-f16.safetensors)
# --weights-in (issue 14): the weight matrices in memory, for every command that loads a model.
expect(0 "weights in +f32 " info --weights ${W})
expect(0 "weights in +f16 " info --weights ${DATA}/tiny-f16.safetensors --weights-in f16)
expect(0 "weights in +int8 " info --weights ${W} --weights-in=int8)
expect(0 "^First Citizen:\n" generate --weights ${W} --prompt "First Citizen:\n" --tokens 20 --weights-in int8)
expect(0 "loss [0-9.]+ nats/token over 7 targets" loss --weights ${W} --data ${DATA}/tiny-text.txt --limit 8 --weights-in f16)
expect(2 "gpt: --weights-in: weights format must be auto, f32, f16 or int8, got 'q4'" info --weights ${W} --weights-in q4)
expect(2 "option '--weights-in' needs a value" lens --weights ${W} --prompt a --weights-in)
expect(0 "^First Citizen:\n" generate --weights ${W} --prompt "First Citizen:\n" --tokens 40 --seed 3)
set(first "${LAST_OUT}")
string(LENGTH "${first}" len)
if(NOT len EQUAL 56)  # 15 prompt characters + 40 generated + newline
  message(FATAL_ERROR "generate printed ${len} characters, expected 56: ${first}")
endif()
expect(0 "" generate --weights ${W} --prompt "First Citizen:\n" --tokens 40 --seed 3)
if(NOT LAST_OUT STREQUAL first)
  message(FATAL_ERROR "the same seed gave different text:\n${first}\n${LAST_OUT}")
endif()
expect(0 "layer 1, head 2" attention --weights ${W} --prompt "Hi there" --layer 1 --head 2)
expect(0 "loss [0-9.]+ nats/token over 7 targets" loss --weights ${W} --data ${DATA}/tiny-text.txt --limit 8)
expect(0 "loss [0-9.]+ nats/token over 80 targets \\(3 windows" loss --weights ${W} --data ${DATA}/tiny-text.txt)
expect(0 "over 8 targets .*split val" loss --weights ${W} --data ${DATA}/tiny-text.txt --split val)

expect(2 "no command" )
expect(2 "unknown command 'fly'" fly)
expect(2 "unknown option '--temp'" generate --weights ${W} --prompt a --temp 3)
expect(2 "--tokens must be an integer" generate --weights ${W} --prompt a --tokens many)
expect(2 "temperature must be between 0 and 100" generate --weights ${W} --prompt a --tokens 1 --temperature -2)
expect(2 "top-p must be in" generate --weights ${W} --prompt a --tokens 1 --top-p 0)
expect(2 "option '--prompt' needs a value" generate --weights ${W} --prompt)
expect(2 "--layer must be an integer from 0 to 1" attention --weights ${W} --prompt a --layer 2 --head 0)
expect(1 "gpt: cannot open '/nonexistent.safetensors'" info --weights /nonexistent.safetensors)
expect(1 "gpt: cannot load '.*': no token embedding \\(transformer.wte.weight or wte.weight\\): not a GPT checkpoint" info --weights ${DATA}/tiny-f32.ref.safetensors)
expect(1 "gpt: cannot load '.*': header length .* is larger than the rest of the file" info --weights ${CMAKE_CURRENT_LIST_FILE})
expect(1 "the model does not know the character '~'" generate --weights ${W} --prompt "a~b" --tokens 3)
expect(1 "the prompt is empty" generate --weights ${W} --prompt= --tokens 3)

# GPT-2 family: a Hugging Face layout with its tokenizer and config beside it.
set(HF ${DATA}/gpt2-hf/model.safetensors)
set(BPE --tokenizer ${DATA}/bpe/tokenizer.json --config ${DATA}/gpt2-hf/config.json)
expect(0 "layout +huggingface\ntokenizer +gpt2 \\(439 tokens\\)" info --weights ${HF} ${BPE})
expect(0 "n_head +2" info --weights ${HF} --vocab ${DATA}/bpe/vocab.json --merges ${DATA}/bpe/merges.txt --config ${DATA}/gpt2-hf/config.json)
expect(0 "^Hello, world!" generate --weights ${HF} ${BPE} --prompt "Hello, world!" --tokens 10)
expect(0 "layer 0, head 1" attention --weights ${HF} ${BPE} --prompt "Hello there, world" --layer 0 --head 1)
expect(0 "loss [0-9.]+ nats/token" loss --weights ${HF} ${BPE} --data ${DATA}/tiny-text.txt)
expect(1 "add the model's config.json" info --weights ${HF} --tokenizer ${DATA}/bpe/tokenizer.json)
expect(1 "this checkpoint has no tokenizer: add its tokenizer.json" info --weights ${HF} --config ${DATA}/gpt2-hf/config.json)
expect(1 "vocab.json and merges.txt go together" info --weights ${HF} --vocab ${DATA}/bpe/vocab.json --config ${DATA}/gpt2-hf/config.json)

# Hostile inputs (issue 16). A directory where a file belongs: one line naming it, never an
# uncaught std::ios_failure.
expect(1 "gpt: '${DATA}' is a directory, not a file" info --weights ${DATA})
foreach(opt tokenizer vocab merges config)
  expect(1 "gpt: '${DATA}/bpe' is a directory, not a file" info --weights ${HF} --${opt} ${DATA}/bpe)
endforeach()
expect(1 "gpt: '${DATA}' is a directory, not a file" loss --weights ${W} --data ${DATA})

# Finite weights that overflow float32 when run (N(0, 1e18)): every command that reads logits or
# attention stops with a message instead of printing one token forever or -nan.
file(MAKE_DIRECTORY ${TMP})
set(HUGE ${TMP}/huge-weights.safetensors)
execute_process(COMMAND ${MAKE_CHECKPOINT} ${HUGE} 2 4 64 32 1e18 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_checkpoint failed: ${rc}")
endif()
expect(0 "n_layer +2" info --weights ${HUGE})
expect(1 "gpt: the logits at position 1 are not finite .*; the run is stopped\n$" generate --weights ${HUGE} --prompt ab --tokens 5)
expect(1 "gpt: the logits at position 0 are not finite" loss --weights ${HUGE} --data ${DATA}/tiny-text.txt)
expect(1 "gpt: the attention probabilities of layer 0, head [0-3] are not finite" attention --weights ${HUGE} --prompt ab --layer 1 --head 0)

# A memory ceiling natively, as in the browser: block_size 16384 with 48 layers of 64 heads needs
# over 1 GiB of run state (the KV cache and the kept attention; a prefill's activations come in
# chunks of 128 rows); under a 0.9 GB address-space limit that is the memory message, not bad_alloc.
# (Not under the sanitizers: AddressSanitizer itself needs terabytes of address space.)
if(NOT SANITIZED)
  set(LONG ${TMP}/long-context.safetensors)
  execute_process(COMMAND ${MAKE_CHECKPOINT} ${LONG} 48 64 64 16384 0.02 RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "make_checkpoint failed: ${rc}")
  endif()
  execute_process(COMMAND sh -c "ulimit -v 900000 && exec \"$0\" info --weights \"$1\"" ${GPT} ${LONG}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1 OR NOT err MATCHES "^gpt: cannot load '.*': this model needs [0-9.]+ GiB of memory .*, more than the [0-9.]+ MiB available\n$")
    message(FATAL_ERROR "under ulimit -v 900000: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
endif()
