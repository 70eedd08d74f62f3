// The structure check run before dns-packet decodes a message (RFC 1035 §3.1, §4.1): every
// name, record and RDATA inside the message, compression pointers only backwards and few.
// dns-packet reads past an RDATA's end or the message's end without complaint (a cut AAAA
// record becomes "2001:db8::"); what it would misread is refused here instead.

const HEADER_LENGTH = 12;
/** RFC 1035 §2.3.4: 255 octets on the wire, the root's included. */
const MAX_NAME_OCTETS = 255;
/**
 * Compression pointers followed per name. A name of 255 octets has at most 127 labels, so an
 * encoder never needs more; the bound keeps a reply of pointer chains from costing
 * (records × chain length) steps.
 */
const MAX_POINTERS = 127;
const SECTIONS = ["answer", "authority", "additional"] as const;

/** The data sizes RFC 1035 §3.4.1 and RFC 3596 §2.2 fix. */
const FIXED_RDATA: Record<number, [string, number]> = { 1: ["A", 4], 28: ["AAAA", 16] };
const TYPE_MX = 15;
const TYPE_CNAME = 5;
const TYPE_TXT = 16;

/**
 * Why `bytes` is not a well-formed DNS message, or undefined when its structure holds.
 * Bytes after the last record are tolerated, as dns-packet and most resolvers do.
 *
 * @param bytes The message.
 * @returns The problem, one phrase such as `answer record 2: A data of 2 octets, not 4`.
 */
export function wireProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < HEADER_LENGTH) return `${bytes.length} octets, shorter than a header`;
  const count = (i: number) => (bytes[4 + 2 * i] << 8) | bytes[5 + 2 * i];
  let offset = HEADER_LENGTH;
  // Every question and record takes at least 5 octets, so the message length bounds the loops.
  for (let i = 0; i < count(0); i++) {
    const name = walkName(bytes, offset);
    if (typeof name === "string") return `question ${i + 1}: ${name}`;
    offset = name + 4;
    if (offset > bytes.length) return `question ${i + 1} runs past the end`;
  }
  for (const [s, section] of SECTIONS.entries()) {
    for (let i = 0; i < count(s + 1); i++) {
      const where = `${section} record ${i + 1}`;
      const name = walkName(bytes, offset);
      if (typeof name === "string") return `${where}: ${name}`;
      if (name + 10 > bytes.length) return `${where} runs past the end`;
      const type = (bytes[name] << 8) | bytes[name + 1];
      const length = (bytes[name + 8] << 8) | bytes[name + 9];
      const start = name + 10;
      offset = start + length;
      if (offset > bytes.length) return `${where}: data of ${length} octets runs past the end`;
      const problem = rdataProblem(bytes, type, start, length);
      if (problem !== undefined) return `${where}: ${problem}`;
    }
  }
  return undefined;
}

function rdataProblem(
  bytes: Uint8Array,
  type: number,
  start: number,
  length: number,
): string | undefined {
  const fixed = FIXED_RDATA[type];
  if (fixed !== undefined) {
    return length === fixed[1]
      ? undefined
      : `${fixed[0]} data of ${length} octets, not ${fixed[1]}`;
  }
  const end = start + length;
  if (type === TYPE_MX || type === TYPE_CNAME) {
    const at = type === TYPE_MX ? start + 2 : start;
    const label = type === TYPE_MX ? "MX" : "CNAME";
    if (at >= end) return `${label} data of ${length} octets`;
    // The name must end where the data does: not before, and not in the next record.
    const name = walkName(bytes.subarray(0, end), at);
    if (typeof name === "string") return `${label} target: ${name}`;
    return name === end ? undefined : `${label} data of ${length} octets holds more than a name`;
  }
  if (type === TYPE_TXT) {
    // RFC 1035 §3.3.14: one or more <character-string>s filling the data exactly.
    if (length === 0) return "TXT data of 0 octets";
    let at = start;
    for (let i = 0; i < length && at < end; i++) at += 1 + bytes[at];
    return at === end ? undefined : "TXT strings run past the data";
  }
  return undefined;
}

/**
 * Checks the name at `offset`: labels under 64 octets, at most 255 octets in all, pointers
 * only to earlier octets (RFC 1035 §4.1.4, "a prior occurrence") and at most
 * {@linkcode MAX_POINTERS}, every octet inside `bytes`.
 *
 * @returns The offset just after the name as written at `offset`, or the problem.
 */
function walkName(bytes: Uint8Array, offset: number): number | string {
  let at = offset;
  // Pointers must go below the start of the run being read: no loop can form.
  let limit = offset;
  let after: number | undefined;
  let octets = 1;
  let pointers = 0;
  // Each pass reads a label (adding to `octets`) or follows a pointer: both are bounded.
  for (let pass = 0; pass <= MAX_NAME_OCTETS + MAX_POINTERS; pass++) {
    if (at >= bytes.length) return "name runs past the end";
    const length = bytes[at];
    if (length === 0) return after ?? at + 1;
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= bytes.length) return "compression pointer runs past the end";
      const target = ((length & 0x3f) << 8) | bytes[at + 1];
      after ??= at + 2;
      if (target >= limit) {
        return target >= bytes.length
          ? `compression pointer to ${target}, past the end`
          : `compression pointer to ${target} does not point back (a loop)`;
      }
      if (++pointers > MAX_POINTERS) return `more than ${MAX_POINTERS} compression pointers`;
      at = limit = target;
      continue;
    }
    if (kind !== 0) return `label type 0x${kind.toString(16)} is not a length or a pointer`;
    octets += length + 1;
    if (octets > MAX_NAME_OCTETS) return `name longer than ${MAX_NAME_OCTETS} octets`;
    if (at + 1 + length > bytes.length) return "label runs past the end";
    at += 1 + length;
  }
  return "name does not end";
}

/** The names of a message, in message order, decoded as {@linkcode messageNames} does. */
export interface MessageNames {
  /** Each question's name. */
  questions: string[];
  /** Each record's owner and, for MX and CNAME, the name in its data; OPT records included. */
  records: { owner: string; target?: string }[];
}

const utf8 = new TextDecoder();

/**
 * Reads every name of a message that {@linkcode wireProblem} accepted, each label decoded as
 * UTF-8 with U+FFFD for bytes that are not (as `TextDecoder` does), labels joined with "." and
 * the root as ".". The codec's own decoder garbles such bytes and reads past the label.
 *
 * @param bytes A message without a structure problem.
 * @returns The questions' names and each record's names.
 */
export function messageNames(bytes: Uint8Array): MessageNames {
  const count = (i: number) => (bytes[4 + 2 * i] << 8) | bytes[5 + 2 * i];
  const questions: string[] = [];
  const records: MessageNames["records"] = [];
  let offset = HEADER_LENGTH;
  for (let i = 0; i < count(0); i++) {
    const [name, end] = readName(bytes, offset);
    questions.push(name);
    offset = end + 4;
  }
  for (let s = 1; s <= SECTIONS.length; s++) {
    for (let i = 0; i < count(s); i++) {
      const [owner, end] = readName(bytes, offset);
      const type = (bytes[end] << 8) | bytes[end + 1];
      const start = end + 10;
      const at = type === TYPE_MX ? start + 2 : type === TYPE_CNAME ? start : undefined;
      records.push(at === undefined ? { owner } : { owner, target: readName(bytes, at)[0] });
      offset = start + ((bytes[end + 8] << 8) | bytes[end + 9]);
    }
  }
  return { questions, records };
}

/** The name at `offset` of a checked message and the offset just after it as written. */
function readName(bytes: Uint8Array, offset: number): [string, number] {
  const labels: string[] = [];
  let at = offset;
  let after: number | undefined;
  // wireProblem bounded the labels and pointers of every name of the message.
  for (let pass = 0; pass <= MAX_NAME_OCTETS + MAX_POINTERS; pass++) {
    const length = bytes[at];
    if (length === 0) break;
    if ((length & 0xc0) === 0xc0) {
      after ??= at + 2;
      at = ((length & 0x3f) << 8) | bytes[at + 1];
      continue;
    }
    labels.push(utf8.decode(bytes.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  return [labels.length === 0 ? "." : labels.join("."), after ?? at + 1];
}
