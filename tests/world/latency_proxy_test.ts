import assert from "node:assert/strict";
import { parseLoopback } from "./latency_proxy.ts";

Deno.test("parseLoopback() accepts 127.0.0.0/8 and ::1 with a port", () => {
  assert.deepEqual(parseLoopback("127.0.0.10:53"), { hostname: "127.0.0.10", port: 53 });
  assert.deepEqual(parseLoopback("[::1]:443"), { hostname: "::1", port: 443 });
});

Deno.test("parseLoopback() refuses every address that could leave the machine", () => {
  for (
    const text of ["8.8.8.8:53", "[2001:db8::1]:53", "128.0.0.1:53", "127.0.0.1", "localhost:53"]
  ) {
    assert.throws(() => parseLoopback(text), RangeError, text);
  }
  assert.throws(() => parseLoopback("127.0.0.1:0"), RangeError);
  assert.throws(() => parseLoopback("127.0.0.1:65536"), RangeError);
  assert.throws(() => parseLoopback("127.0.0.300:53"), RangeError);
});
