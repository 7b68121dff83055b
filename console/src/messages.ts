/**
 * Splits an upload into the texts of its messages without re-serialising anything: each message is sent with the
 * producer's own bytes, so `data` keeps its exact text (big numbers, `1.50`, escapes) as the contract promises.
 */
export interface MessageText {
  /** Where it came from: "line 12" or "item 3". */
  label: string;
  text: string;
}

export interface SplitResult {
  messages: MessageText[];
  /** A problem with the whole upload (an unterminated array). */
  problem?: string;
}

export function splitMessages(input: string, fileName = ''): SplitResult {
  const text = input.replace(/^\uFEFF/, '');
  const trimmed = text.trim();
  if (trimmed === '') return { messages: [], problem: 'Nothing to upload' };
  if (!fileName.endsWith('.ndjson')) {
    if (trimmed.startsWith('[')) return splitArray(trimmed);
    if (isOneJsonValue(trimmed)) return { messages: [{ label: 'item 1', text: trimmed }] };
  }
  return splitLines(text);
}

function isOneJsonValue(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function splitLines(text: string): SplitResult {
  const messages: MessageText[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].replace(/\r$/, '');
    if (line.trim() !== '') messages.push({ label: `line ${index + 1}`, text: line });
  }
  return { messages };
}

/** The top-level items of a JSON array, each as its own text; strings and nesting are skipped over, not parsed. */
function splitArray(text: string): SplitResult {
  const messages: MessageText[] = [];
  let depth = 0;
  let inString = false;
  let start = 1;
  const push = (end: number) => {
    const item = text.slice(start, end).trim();
    if (item !== '') messages.push({ label: `item ${messages.length + 1}`, text: item });
  };
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '[' || char === '{') depth++;
    else if (char === ']' || char === '}') {
      depth--;
      if (depth === 0) {
        push(index);
        const rest = text.slice(index + 1).trim();
        return rest === '' ? { messages } : { messages, problem: `Text after the array's end: ${rest.slice(0, 40)}` };
      }
    } else if (char === ',' && depth === 1) {
      push(index);
      start = index + 1;
    }
  }
  return { messages, problem: 'The array is not closed' };
}
