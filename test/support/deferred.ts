/** A promise the test settles by hand, to hold a step of the code under test until the test lets it go. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** Resolves once every callback already queued (promise reactions, I/O, immediates) has run. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
