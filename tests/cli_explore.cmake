# The CLI's commands that look inside the model, checked against the commands they must agree with:
# explain's weights are row I of `gpt attention`, the lens's last line is the model's prediction,
# --ablate/--uniform reach generate, attention, loss and lens.
#   cmake -DGPT=path/to/gpt -DDATA=tests/data -DWEIGHTS=weights -P this
include(${CMAKE_CURRENT_LIST_DIR}/cli_expect.cmake)
set(W ${DATA}/tiny-f32.safetensors)
set(SHIPPED ${WEIGHTS}/shakespeare-char.safetensors)

function(require_equal what a b)
  if("${a}" STREQUAL "" OR NOT "${a}" STREQUAL "${b}")
    message(FATAL_ERROR "${what}:\n'${a}'\n'${b}'")
  endif()
endfunction()
function(require_different what a b)
  if("${a}" STREQUAL "${b}")
    message(FATAL_ERROR "${what}: unchanged\n'${a}'")
  endif()
endfunction()

# explain: q, every key's score, the mask, and weights equal to row 5 of `gpt attention`.
set(P "First Citizen")
expect(0 "layer 1, head 2, query position 5 ' ' \\(normal\\); d_k = 16.*\nq  .*\n    5  ' ' .*visible.*\n    6  'C' +-inf  future +0.0000\n.*the weights sum to (1\\.000000|0\\.99999[0-9])\n.*largest contributions"
       explain --weights ${W} --prompt ${P} --layer 1 --head 2 --position 5)
string(REGEX MATCH "\nweights([ 0-9.]+)\n" _ "${LAST_OUT}")
set(explained "${CMAKE_MATCH_1}")
expect(0 "" attention --weights ${W} --prompt ${P} --layer 1 --head 2)
string(REPLACE "\n" ";" lines "${LAST_OUT}")
list(GET lines 7 row5)  # a title, the key labels, then rows 0, 1, ...
string(SUBSTRING "${row5}" 4 -1 row5)
require_equal("explain's weights against row 5 of gpt attention" "${explained}" "${row5}")

# --uniform: the head's row 3 is the causal average; --ablate and --uniform change what comes out.
expect(0 "\n   s 0.2500 0.2500 0.2500 0.2500 0.0000" attention --weights ${W} --prompt ${P} --layer 1 --head 2 --uniform 1.2)
expect(0 "\n   s 0.2500 0.2500 0.2500 0.2500 0.0000" attention --weights ${W} --prompt ${P} --layer 1 --head 2 --uniform 0.0,1.2 --ablate 0.1)
expect(0 "loss [0-9.]+ " loss --weights ${W} --data ${DATA}/tiny-text.txt)
set(plain "${LAST_OUT}")
expect(0 "loss [0-9.]+ " loss --weights ${W} --data ${DATA}/tiny-text.txt --ablate 0.1)
require_different("loss --ablate 0.1" "${plain}" "${LAST_OUT}")
expect(0 "loss [0-9.]+ " loss --weights ${W} --data ${DATA}/tiny-text.txt --uniform 1.3)
require_different("loss --uniform 1.3" "${plain}" "${LAST_OUT}")
expect(0 "" generate --weights ${W} --prompt "First Citizen:\n" --tokens 40 --seed 3)
set(plain "${LAST_OUT}")
expect(0 "^First Citizen:\n" generate --weights ${W} --prompt "First Citizen:\n" --tokens 40 --seed 3 --ablate 0.0,0.1,0.2,0.3)
require_different("generate --ablate" "${plain}" "${LAST_OUT}")

# lens: one line per layer's residual; the last line's top token is the model's greedy next token.
set(R "ROMEO:\nBut soft, what light through yonder window brea")
expect(0 "\nembedding [^\n]*\nblock 0 [^\n]*\nblock 1 [^\n]*\nblock 2 [^\n]*\nblock 3 [^\n]*\n$" lens --weights ${SHIPPED} --prompt ${R})
string(REGEX MATCH "\nblock 3 +'([^']+)' ([0-9.]+)" _ "${LAST_OUT}")
set(lens_top "${CMAKE_MATCH_1}")
set(lens_last "${CMAKE_MATCH_0}")
expect(0 "" generate --weights ${SHIPPED} --prompt ${R} --tokens 1 --temperature 0)
string(REGEX MATCH "(.)\n$" _ "${LAST_OUT}")
require_equal("the lens's last line against the model's greedy prediction" "${lens_top}" "${CMAKE_MATCH_1}")
expect(0 "top 3" lens --weights ${SHIPPED} --prompt ${R} --ablate 0.1,0.2,1.3 --top 3)
string(REGEX MATCH "\nblock 3 +'([^']+)' ([0-9.]+)" _ "${LAST_OUT}")
require_different("lens --ablate" "${lens_last}" "${CMAKE_MATCH_0}")
expect(0 "position 2 'M'" lens --weights ${SHIPPED} --prompt ${R} --position 2)

# heads: one row per head.
expect(0 "the model's loss [0-9.]+ nats/token\n.*\nlayer head  loss_off prev_token induction entropy\n    0    0 +[-+][0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+\n[^\n]*\n[^\n]*\n[^\n]*\n[^\n]*\n[^\n]*\n[^\n]*\n    1    3 +[-+][0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+\n$"
       heads --weights ${W} --data ${DATA}/tiny-text.txt)

# Bad requests: one line, exit 2.
expect(2 "--ablate: head 9.9 does not exist: the model has layers 0-1 and heads 0-3" loss --weights ${W} --data ${DATA}/tiny-text.txt --ablate 9.9)
expect(2 "--uniform: 'x' is not a head: write layer.head" generate --weights ${W} --prompt a --tokens 1 --uniform x)
expect(2 "explain needs --layer, --head and --position" explain --weights ${W} --prompt ${P} --layer 1 --head 2)
expect(2 "--position must be an integer from 0 to 12" lens --weights ${W} --prompt ${P} --position 13)
expect(2 "unknown option '--ablate' for 'heads'" heads --weights ${W} --data ${DATA}/tiny-text.txt --ablate 0.1)

# --threads: the same text and attention on 3 threads as on one (parallel.h); a bad count is refused.
expect(0 "" generate --weights ${SHIPPED} --prompt "ROMEO:" --tokens 80 --temperature 0.8 --seed 5)
set(one "${LAST_OUT}")
expect(0 "" generate --weights ${SHIPPED} --prompt "ROMEO:" --tokens 80 --temperature 0.8 --seed 5 --threads 3)
require_equal("generate on 3 threads against 1" "${one}" "${LAST_OUT}")
expect(0 "" attention --weights ${SHIPPED} --prompt "ROMEO: But soft" --layer 2 --head 1)
set(one "${LAST_OUT}")
expect(0 "" attention --weights ${SHIPPED} --prompt "ROMEO: But soft" --layer 2 --head 1 --threads 2)
require_equal("attention on 2 threads against 1" "${one}" "${LAST_OUT}")
expect(2 "--threads must be an integer from 1 to 8, got '0'" generate --weights ${SHIPPED} --prompt "A" --tokens 1 --threads 0)
