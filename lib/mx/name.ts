// The domain argument as Courier's testmxlookup reads it (`name,port`, `[address]`, a trailing
// dot, completion with resolv.conf's `domain`), IDNA per UTS #46 for non-ASCII names (D15), and
// the wire limits of RFC 1035 §2.3.4 checked before any packet is sent. Name forms: names.ts.
import { type Address, parseAddress } from "../address.ts";
import { wireName } from "../names.ts";
import { nameLengthProblem } from "../wire/message.ts";

/** What the domain argument asks for. */
export type Target =
  /** Look up the MX records of `name` (on the wire); `display` is the completed name as typed. */
  | { kind: "name"; name: string; display: string }
  /** `[address]`: one entry, no DNS at all. */
  | { kind: "literal"; host: string; address: Address }
  /** Not a name that can be looked up; `outcome` is the Courier line to print. */
  | { kind: "invalid"; outcome: "hard" | "internal"; reason: string };

/**
 * Checks a query name against the wire limits: no empty label, labels of at most 63
 * octets, at most 255 octets on the wire (RFC 1035 §2.3.4). The empty name is the root,
 * which can be asked for (Courier asks it for `testmxlookup ''` or `.`).
 *
 * @param name The name, ASCII, without trailing dot.
 * @returns The reason it cannot be sent, or undefined when it can.
 */
export function nameProblem(name: string): string | undefined {
  return name === "" ? undefined : nameLengthProblem(name);
}

/**
 * Appends the default domain to a name without a dot or a colon, as Courier does; the empty
 * name too, which then starts with an empty label.
 *
 * @param name The name.
 * @param defaultDomain resolv.conf's `domain`, or undefined.
 * @returns The completed name.
 */
export function completeName(name: string, defaultDomain: string | undefined): string {
  return defaultDomain && !name.includes(".") && !name.includes(":")
    ? `${name}.${defaultDomain}`
    : name;
}

/**
 * Reads the domain argument as Courier 1.0.16 does: `name,port` drops the port; a name without
 * a dot gets the default domain; an IP address is a hard error; `[address]` is a literal; one
 * trailing dot ends the name and stops completion. What is left is asked as it is: the empty
 * name is the root (`''` without a default domain, `.`), and any other empty label, leading
 * dots included (`.a.test`, `..`), makes the name unaskable (`internal error.`) (D21).
 *
 * @param arg The argument exactly as typed.
 * @param defaultDomain resolv.conf's default domain.
 * @returns What to look up.
 */
export function parseTarget(arg: string, defaultDomain?: string): Target {
  const comma = arg.indexOf(",");
  const typed = comma >= 0 ? arg.slice(0, comma) : arg;
  if (typed.startsWith("[")) {
    const inside = typed.endsWith("]") && typed.indexOf("]") === typed.length - 1
      ? parseAddress(typed.slice(1, -1))
      : undefined;
    return inside
      ? { kind: "literal", host: typed, address: inside }
      : { kind: "invalid", outcome: "hard", reason: `"${typed}" is not a bracketed IP address` };
  }
  // A trailing dot makes the name absolute: no completion.
  const name = typed.endsWith(".") ? typed.slice(0, -1) : completeName(typed, defaultDomain);
  if (parseAddress(name) !== undefined) {
    return {
      kind: "invalid",
      outcome: "hard",
      reason: `"${name}" is an IP address, not a mail domain; use [${name}] for a literal`,
    };
  }
  const wire = wireName(name);
  if (wire === undefined) {
    return { kind: "invalid", outcome: "internal", reason: `"${name}" is not a valid IDNA name` };
  }
  const problem = nameProblem(wire);
  return problem === undefined
    ? { kind: "name", name: wire, display: name }
    : { kind: "invalid", outcome: "internal", reason: problem };
}
