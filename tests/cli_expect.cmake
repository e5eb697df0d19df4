# expect(CODE PATTERN args...): runs ${GPT} args, requires exit CODE and output (stdout + stderr)
# matching PATTERN; leaves stdout in LAST_OUT. Shared by the CLI test scripts.
function(expect code pattern)  # the remaining arguments are the command line
  execute_process(COMMAND ${GPT} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "${code}")
    message(FATAL_ERROR "gpt ${ARGN}: exit ${rc}, expected ${code}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "gpt ${ARGN}: output does not match '${pattern}'\nstdout: ${out}\nstderr: ${err}")
  endif()
  set(LAST_OUT "${out}" PARENT_SCOPE)
endfunction()
