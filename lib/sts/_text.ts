// Folder-private helpers for the reason strings that go to stderr.

export { quote } from "../errors.ts";

/** `text` without spaces and tabs (RFC 5234 WSP) at either end. */
export function trimWsp(text: string): string {
  // A scan from each end: the regular expression /[ \t]+$/ is retried at every blank of a run
  // that does not end the text, which is quadratic in a 64 KiB policy line.
  let start = 0;
  let end = text.length;
  while (start < end && isWsp(text.charCodeAt(start))) start++;
  while (end > start && isWsp(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isWsp(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Bytes 0-255 as the characters U+0000-U+00FF, the inverse of how encodeEntry writes an id
 * and how DNS carries TXT strings.
 * Not `TextDecoder("latin1")`: the Encoding Standard maps that label to windows-1252, which
 * reads 0x80-0x9F as other characters (0x99 as "™"), so such an id would not read back.
 */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}
