import assert from "node:assert/strict";
import { addressToHost, formatAddress, isAddress, parseAddress } from "../lib/address.ts";

const roundTrips: [string, string | undefined][] = [
  ["192.0.2.1", "::ffff:192.0.2.1"],
  ["127.1", "::ffff:127.0.0.1"],
  ["10", "::ffff:0.0.0.10"],
  ["0177.0.0.1", "::ffff:127.0.0.1"],
  ["1.2.65535", "::ffff:1.2.255.255"],
  ["1.16777215", "::ffff:1.255.255.255"],
  ["0.0.0.0", "::"],
  ["0x7f.1", undefined],
  ["256.1.1.1", undefined],
  ["1.2.3.4.5", undefined],
  ["1..2", undefined],
  ["08.1.1.1", undefined],
  ["1.2.3.4 ", undefined],
  ["4294967296", undefined],
  ["::1", "::1"],
  ["::", "::"],
  ["2001:DB8::1", "2001:db8::1"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
  ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
  ["1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"],
  ["1::", "1::"],
  ["::c000:201", "::192.0.2.1"],
  ["::ffff:0.0.0.0", "::ffff:0.0.0.0"],
  ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
  ["::100", "::100"],
  ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
  ["1:2:3:4:5:6:7:8:9", undefined],
  ["1::2::3", undefined],
  ["12345::", undefined],
  ["fe80::1%eth0", undefined],
  ["[::1]", undefined],
  ["::1.2.3", undefined],
  ["::01.2.3.4", undefined],
  ["example.test", undefined],
  ["", undefined],
];

for (const [text, printed] of roundTrips) {
  Deno.test(`parseAddress() then formatAddress() reads "${text}" as ${printed ?? "no address"}`, () => {
    const bytes = parseAddress(text);
    assert.equal(bytes === undefined ? undefined : formatAddress(bytes), printed);
  });
}

Deno.test("addressToHost() gives dotted IPv4 for a mapped address and IPv6 text otherwise", () => {
  assert.equal(addressToHost(parseAddress("127.0.0.2")!), "127.0.0.2");
  assert.equal(addressToHost(parseAddress("::1")!), "::1");
});

Deno.test("isAddress() agrees with parseAddress() without making the bytes", () => {
  const texts = ["127.1", "0177.0.0.1", "08.1", "1.2.3.4.5", "1.2.3.", "", "0", "4294967295"];
  texts.push("4294967296", "2001:db8::1", "::ffff:1.2.3.4", "[::1]", "0x7f.1", "1..2", "00");
  for (const text of texts) assert.equal(isAddress(text), parseAddress(text) !== undefined, text);
  assert.deepEqual(
    parseAddress("255.0.0.1"),
    Uint8Array.of(...new Array(10).fill(0), 255, 255, 255, 0, 0, 1),
  );
});
