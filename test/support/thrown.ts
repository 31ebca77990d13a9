/** Runs `fn` and returns what it threw (`undefined` if it returned), for assertions on the error itself. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
