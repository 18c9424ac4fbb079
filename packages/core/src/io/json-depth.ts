/**
 * How deeply a JSON text nests its arrays and objects, counted without recursion and stopping
 * once past `limit`. A user's file may nest 200,000 levels in a few hundred kilobytes: JSON.parse
 * takes it, but every recursive walk afterwards (validation, an error message quoting the value)
 * overflows the stack. Readers check this first and refuse such text in one line.
 */
export function jsonNestingDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The nesting every Cardinal reader accepts: far beyond any config, header or request. */
export const MAX_JSON_DEPTH = 64;

/** A reason to refuse the text, or undefined when it nests no deeper than `limit`. */
export function jsonTooDeep(text: string, limit = MAX_JSON_DEPTH): string | undefined {
  return jsonNestingDepth(text, limit) > limit
    ? `JSON nested more than ${limit} levels deep (refused before parsing)`
    : undefined;
}
