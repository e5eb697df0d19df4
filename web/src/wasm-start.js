// Starting an engine module (Emscripten's glue) inside a worker, from the wasm the page compiled
// (shared.js), single-threaded or with wasm threads: the engine worker (worker.js, gpt / gpt_mt) and
// the training worker (train-worker.js, gpt-train / gpt-train_mt) start theirs alike.

// How long a threaded build may take to start once its glue is in. It makes its pthread workers
// (pthreadPoolSize), which fetch the build's .worker.js and glue and instantiate the module the page
// compiled: well under a second. Not every failure is heard of: a pthread worker whose script fails
// before the glue listens to it (it does once the module is instantiated), whose script never
// arrives, or whose import of the glue fails, never says 'loaded', and the module waits for ever.
export const THREADED_START_MS = 10000;

// Instantiate from the module the page compiled, instead of letting the glue fetch the wasm again.
// The threaded build's pthread workers (made while it starts) get the compiled module from it.
// options: the object the glue makes the module of; the threaded glue puts its pthread pool there
// (PThread) as it starts, before the module is ready. The module's threads are set before it is
// returned: the engine sizes per-thread scratch from them.
export async function startModule({ default: createGptModule }, wasm, threads, options = {}) {
  const module = await new Promise((resolve, reject) => {
    createGptModule(Object.assign(options, {
      pthreadPoolSize: threads - 1,
      instantiateWasm(imports, receive) {
        WebAssembly.instantiate(wasm, imports).then((instance) => receive(instance, wasm)).catch(reject);
        return {};
      },
    })).then(resolve, reject);
  });
  module.setThreads(threads);
  return module;
}

// A threaded build (importGlue() imports its glue), given THREADED_START_MS to start. While it
// starts nothing else runs in the worker, so an uncaught error is its own: the glue rethrows a
// pthread worker's error event (a worker whose script failed to load). A failed start's pthread
// workers are ended: they would hold memory, and the failures of the others would come as uncaught
// errors later, which the page takes for a crashed worker. Rejects when it cannot start; the
// caller then asks the page for the single-threaded build.
export async function startThreaded(importGlue, wasm, threads) {
  const glue = await importGlue();
  const options = {};
  let onError, timer;
  const failed = new Promise((_, reject) => {
    onError = (e) => {
      e.preventDefault();  // not the page's business: it gets the single-threaded engine instead
      reject(new Error(e.error instanceof Event ? 'a pthread worker failed to load' : e.message));
    };
    self.addEventListener('error', onError);
    timer = setTimeout(() => reject(new Error(`it was not ready after ${THREADED_START_MS / 1000} s`)), THREADED_START_MS);
  });
  try {
    return await Promise.race([startModule(glue, wasm, threads, options), failed]);
  } catch (e) {
    options.PThread?.terminateAllThreads();
    throw e;
  } finally {
    clearTimeout(timer);
    self.removeEventListener('error', onError);
  }
}

// A worker's engine from the wasm the page sent it: with threads > 1 that is the threaded build
// (importThreaded() imports its glue; rejects when it cannot start, and the worker then asks the
// page for the single-threaded one), else the single-threaded build (importSingle()).
export async function startBuild(wasm, threads, importSingle, importThreaded) {
  return threads > 1 ? startThreaded(importThreaded, wasm, threads) : startModule(await importSingle(), wasm, 1);
}
