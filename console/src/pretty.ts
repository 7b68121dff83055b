/**
 * Re-indents JSON text without parsing it: only whitespace between tokens changes, so every number and string shows
 * exactly as stored (12345678901234567890123 stays itself, 1.50 keeps its zero, escapes stay escapes). A parse and
 * JSON.stringify would round big numbers silently.
 */
export function prettyJson(text: string, indent = '  '): string {
  let out = '';
  let depth = 0;
  const newline = () => '\n' + indent.repeat(depth);
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '"') {
      const end = stringEnd(text, index);
      out += text.slice(index, end);
      index = end - 1;
    } else if (char === '{' || char === '[') {
      const next = nextToken(text, index + 1);
      if (text[next] === (char === '{' ? '}' : ']')) {
        out += char + text[next];
        index = next;
      } else {
        depth++;
        out += char + newline();
      }
    } else if (char === '}' || char === ']') {
      depth--;
      out += newline() + char;
    } else if (char === ',') {
      out += ',' + newline();
    } else if (char === ':') {
      out += ': ';
    } else if (!/\s/.test(char)) {
      out += char;
    }
  }
  return out;
}

/** The index just past the string that starts at `start`. */
function stringEnd(text: string, start: number): number {
  for (let index = start + 1; index < text.length; index++) {
    if (text[index] === '\\') index++;
    else if (text[index] === '"') return index + 1;
  }
  return text.length;
}

function nextToken(text: string, from: number): number {
  let index = from;
  while (index < text.length && /\s/.test(text[index])) index++;
  return index;
}
