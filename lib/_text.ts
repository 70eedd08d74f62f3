// Helpers for the reason strings that go to stderr, shared by the modules that write them.

/**
 * `text` in double quotes with anything but printable ASCII as `\xHH` / `\u{…}`, cut after
 * `max` characters (records and policy lines can be long; names and paths are short).
 */
export function quote(text: string, max = Infinity): string {
  let out = "";
  let count = 0;
  for (const char of text) {
    if (count++ === max) return `"${out}"…`;
    const code = char.codePointAt(0)!;
    if (char === '"' || char === "\\") out += "\\" + char;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code < 0x100) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += `\\u{${code.toString(16)}}`;
  }
  return `"${out}"`;
}
