# `npm run bench`'s measurements, briefly: every gpt_bench command on small settings (one timed
# repetition, the shipped model, two steps of training) must run, check its kernels against their
# scalar twins (a mismatch exits 1) and print one JSON object with the figures run.mjs reads. Times
# are not judged here; `npm run bench` measures them.
#   cmake "-DBENCH=path/to/gpt_bench" -DWEIGHTS=weights [-DTHREADS=1] [-DFULL=ON] -P this
# BENCH may be a command list (node;--no-experimental-fetch;gpt_bench_mt.js). THREADS 1 for a build
# without threads (no paired one-/two-thread figures then). FULL adds the commands that allocate
# GPT-2 small's matrices (~1 GB; natively only).
set(SHIPPED ${WEIGHTS}/shakespeare-char.safetensors)
if(NOT DEFINED THREADS)
  set(THREADS 2)
endif()
set(PAIRED decode_one_thread_tok_s.64 decode_speedup.64)
if(THREADS EQUAL 1)
  set(PAIRED "")
endif()

# sample(KEY... -- args...): runs BENCH args, requires exit 0 and a JSON object on stdout whose
# KEYs (paths, dots between members) are numbers above zero.
function(sample)
  list(FIND ARGN "--" sep)
  list(SUBLIST ARGN 0 ${sep} keys)
  math(EXPR first "${sep} + 1")
  list(SUBLIST ARGN ${first} -1 args)
  execute_process(COMMAND ${BENCH} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "gpt_bench ${args}: exit ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  foreach(key ${keys})
    string(REPLACE "." ";" path "${key}")
    string(JSON value ERROR_VARIABLE json_err GET "${out}" ${path})
    if(json_err OR NOT value GREATER 0)
      message(FATAL_ERROR "gpt_bench ${args}: ${key} is '${value}' ${json_err}\nstdout: ${out}")
    endif()
  endforeach()
endfunction()

sample(bandwidth_GBps peak_GFLOPs -- limits)
sample(decode_tok_s.64 ${PAIRED} prefill_tok_s load_peak_bytes kernel_shapes.0.matvec_GFLOPs
       -- model ${SHIPPED} --contexts 64 --prefill 32 --reps 1 --threads ${THREADS})
sample(decode_tok_s.64 prefill_tok_s weight_bytes
       -- model ${SHIPPED} --contexts 64 --prefill 32 --reps 1 --weights-in int8 --no-kernels)
sample(tok_s GFLOPs -- train tiny --steps 2 --threads ${THREADS})
if(FULL)
  sample(shapes.0.f32_us shapes.0.f16_us shapes.0.q8_us shapes.0.quantize128_us -- weights --reps 1)
  sample(split_us bandwidth_GBps.1 bandwidth_speedup f32_speedup f16_speedup int8_speedup
         -- split --threads 2 --reps 1)
endif()
