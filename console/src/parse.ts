import type { Schema } from '@cfworker/json-schema';
import type { ParsedMessage, ParseReply, ParseRequest } from './upload-worker';

/** Parses and validates `text` in a worker of its own; `onChunk` gets the messages as they are checked. */
export function parseInWorker(
  request: ParseRequest,
  onChunk: (messages: ParsedMessage[], done: number, total: number) => void,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const worker = new Worker('/console/upload-worker.js', { type: 'module' });
    worker.onmessage = (event: MessageEvent<ParseReply>) => {
      const reply = event.data;
      if (reply.kind === 'chunk') onChunk(reply.messages, reply.done, reply.total);
      else {
        worker.terminate();
        resolve(reply.problem);
      }
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message));
    };
    worker.postMessage(request);
  });
}

export type { Schema };
