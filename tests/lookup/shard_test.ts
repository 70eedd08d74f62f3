import assert from "node:assert/strict";
import { fnv1a32, inShard, parseShard, shardKey, shardOf } from "../../lib/lookup/shard.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("fnv1a32() gives the published FNV-1a test values", () => {
  assert.equal(fnv1a32(bytes("")), 0x811c9dc5);
  assert.equal(fnv1a32(bytes("a")), 0xe40c292c);
  assert.equal(fnv1a32(bytes("foobar")), 0xbf9cf968);
});

Deno.test("shardOf() is stable: values computed independently (Python) that every version must reproduce", () => {
  // Pinned: a change here would split one list differently across workers of two versions.
  assert.equal(fnv1a32(bytes("example.com")), 0x431ceb26);
  assert.equal(fnv1a32(bytes("münchen.de")), 0xe2e534b4);
  assert.deepEqual(
    ["example.com", "example.net", "münchen.de", "a.test"].map((d) => shardOf(d, 7)),
    [2, 6, 1, 6],
  );
});

Deno.test("shardKey() folds ASCII case and one trailing dot only", () => {
  assert.equal(shardKey("Example.COM."), "example.com");
  assert.equal(shardKey("example.com.."), "example.com.");
  assert.equal(shardKey("MÜNCHEN.de"), "mÜnchen.de");
  assert.equal(shardOf("Example.COM.", 97), shardOf("example.com", 97));
});

Deno.test("N shards over one list are a partition: every domain in exactly one", () => {
  const domains = Array.from({ length: 2000 }, (_, i) => `d${i}.example`);
  for (const count of [1, 2, 3, 16]) {
    const seen = new Map<string, number>();
    for (let index = 0; index < count; index++) {
      for (const domain of domains) {
        if (inShard(domain, { index, count })) seen.set(domain, (seen.get(domain) ?? 0) + 1);
      }
    }
    assert.equal(seen.size, domains.length, `${count} shards miss a domain`);
    assert.ok([...seen.values()].every((n) => n === 1), `${count} shards repeat a domain`);
  }
  // And the parts are not wildly uneven.
  const sizes = [0, 1, 2, 3].map((index) =>
    domains.filter((d) => inShard(d, { index, count: 4 })).length
  );
  assert.ok(sizes.every((n) => n > 400 && n < 600), `uneven shards: ${sizes}`);
});

Deno.test("parseShard() takes K/N with 0 ≤ K < N and rejects everything else", () => {
  assert.deepEqual(parseShard("0/1"), { index: 0, count: 1 });
  assert.deepEqual(parseShard("3/8"), { index: 3, count: 8 });
  for (
    const bad of ["", "1/1", "8/8", "-1/3", "1/0", "a/b", "1/2/3", " 1/2", "1/2 ", "1/99999999"]
  ) {
    assert.throws(() => parseShard(bad), RangeError, bad);
  }
});
