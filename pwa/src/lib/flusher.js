// When to flush: now (app start, `online`, a new command, the user's button) and, after a failure,
// again after an exponential backoff with jitter. One flush at a time; a request during a flush
// runs one more flush right after it.
export function backoffDelay(failures, { base = 2000, max = 5 * 60 * 1000, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function createFlusher(run, { onResult = () => {}, base, max, random, timers = globalThis } = {}) {
  let failures = 0;
  let timer = null;
  let running = null;
  let again = false;

  async function loop() {
    let result;
    do {
      again = false;
      try {
        result = await run();
      } catch (error) {
        result = { error };
      }
      // Asked for again meanwhile (the `online` event, a new record, the button): run once more at
      // once, even after a failure, which may be the request that died with the old connection.
    } while (again);
    if (result.error) {
      failures += 1;
      const delay = backoffDelay(failures, { base, max, random });
      timer = timers.setTimeout(() => {
        timer = null;
        flushNow();
      }, delay);
      result = { ...result, retryIn: delay };
    } else {
      failures = 0;
    }
    onResult(result);
    return result;
  }

  function flushNow() {
    if (timer) {
      timers.clearTimeout(timer);
      timer = null;
    }
    if (running) {
      again = true;
      return running;
    }
    running = loop().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    flushNow,
    get failures() {
      return failures;
    },
    get pending() {
      return timer !== null;
    },
    stop() {
      if (timer) timers.clearTimeout(timer);
      timer = null;
    },
    /** Forget past failures (a new connection deserves a quick first retry). */
    reset() {
      failures = 0;
    },
  };
}
