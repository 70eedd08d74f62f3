import assert from "node:assert/strict";
import {
  type CachedEntryState,
  decideFreshness,
  type FreshnessDecision,
  type TxtOutcome,
} from "../../lib/sts/freshness.ts";

const T = 1_000_000;
const DAY = 86400;
/** An entry fetched at T with max_age one day, id "old". */
const entry: CachedEntryState = { id: "old", maxAge: DAY, mtimeSec: T };
const stub: CachedEntryState = { id: "old", mtimeSec: T };
const same: TxtOutcome = { kind: "id", id: "old" };
const changed: TxtOutcome = { kind: "id", id: "new" };
const none: TxtOutcome = { kind: "none" };
const transient: TxtOutcome = { kind: "transient" };

const FRESH = T + DAY / 2 - 1;
const HALF = T + DAY / 2;
const EXPIRED = T + DAY;

// [case, entry, now, writable, txt (undefined: the first call), decision].
const TABLE: [
  string,
  CachedEntryState | undefined,
  number,
  boolean,
  TxtOutcome | undefined,
  FreshnessDecision,
][] = [
  // Before the TXT lookup.
  ["a fresh entry is used without DNS", entry, FRESH, true, undefined, {
    action: "use-cached",
    state: "fresh",
  }],
  ["an entry fetched this second is fresh", entry, T, true, undefined, {
    action: "use-cached",
    state: "fresh",
  }],
  ["a half-way entry asks DNS", entry, HALF, true, undefined, {
    action: "lookup-txt",
    state: "half-way",
  }],
  [
    "a half-way entry in a read-only cache is used without DNS, as in Courier",
    entry,
    HALF,
    false,
    undefined,
    {
      action: "use-cached",
      state: "half-way",
    },
  ],
  ["an expired entry asks DNS", entry, EXPIRED, true, undefined, {
    action: "lookup-txt",
    state: "expired",
  }],
  ["no entry asks DNS", undefined, T, true, undefined, { action: "lookup-txt", state: "absent" }],
  ["a stub asks DNS", stub, T, true, undefined, { action: "lookup-txt", state: "unusable" }],
  ["an mtime in the future asks DNS", entry, T - 1, true, undefined, {
    action: "lookup-txt",
    state: "future",
  }],
  ["max_age 0 is never fresh", { ...entry, maxAge: 0 }, T, true, undefined, {
    action: "lookup-txt",
    state: "expired",
  }],
  // Half-way, after the lookup.
  ["half-way with the same id keeps the entry untouched (S9)", entry, HALF, true, same, {
    action: "use-cached",
    state: "half-way",
  }],
  ["half-way with a new id downloads, falling back to the entry", entry, HALF, true, changed, {
    action: "fetch",
    state: "half-way",
    save: true,
    onFailure: "use-cached",
  }],
  ["half-way without a record keeps the entry until it expires", entry, HALF, true, none, {
    action: "use-cached",
    state: "half-way",
  }],
  ["half-way with a failed lookup keeps the entry", entry, HALF, true, transient, {
    action: "use-cached",
    state: "half-way",
  }],
  // Expired, after the lookup.
  ["expired with the same id downloads again (D6; Courier reuses it)", entry, EXPIRED, true, same, {
    action: "fetch",
    state: "expired",
    save: true,
    onFailure: "no-policy",
  }],
  ["expired with a new id downloads", entry, EXPIRED, true, changed, {
    action: "fetch",
    state: "expired",
    save: true,
    onFailure: "no-policy",
  }],
  ["expired without a record deletes the entry", entry, EXPIRED, true, none, {
    action: "no-policy",
    state: "expired",
    deleteEntry: true,
  }],
  [
    "expired with a failed lookup keeps the file (D5; Courier deletes it)",
    entry,
    EXPIRED,
    true,
    transient,
    {
      action: "no-policy",
      state: "expired",
      deleteEntry: false,
    },
  ],
  ["expired without a record in a read-only cache deletes nothing", entry, EXPIRED, false, none, {
    action: "no-policy",
    state: "expired",
    deleteEntry: false,
  }],
  ["expired in a read-only cache downloads without saving", entry, EXPIRED, false, same, {
    action: "fetch",
    state: "expired",
    save: false,
    onFailure: "no-policy",
  }],
  // No usable entry, after the lookup.
  ["no entry with an id downloads", undefined, T, true, changed, {
    action: "fetch",
    state: "absent",
    save: true,
    onFailure: "no-policy",
  }],
  ["no entry without a record has nothing to delete", undefined, T, true, none, {
    action: "no-policy",
    state: "absent",
    deleteEntry: false,
  }],
  ["a stub with the same id downloads again (S8)", stub, T, true, same, {
    action: "fetch",
    state: "unusable",
    save: true,
    onFailure: "no-policy",
  }],
  ["a stub without a record is deleted", stub, T, true, none, {
    action: "no-policy",
    state: "unusable",
    deleteEntry: true,
  }],
  ["a future mtime with an id downloads", entry, T - 1, true, same, {
    action: "fetch",
    state: "future",
    save: true,
    onFailure: "no-policy",
  }],
];

for (const [name, cached, nowSec, writable, txt, expected] of TABLE) {
  Deno.test(`decideFreshness(): ${name}`, () => {
    assert.deepEqual(decideFreshness({ entry: cached, nowSec, writable, txt }), expected);
  });
}

Deno.test("decideFreshness() puts half-way at max_age / 2 rounded down, as Courier", () => {
  const odd = { ...entry, maxAge: 5 };
  assert.equal(decideFreshness({ entry: odd, nowSec: T + 1, writable: true }).state, "fresh");
  assert.equal(decideFreshness({ entry: odd, nowSec: T + 2, writable: true }).state, "half-way");
  assert.equal(decideFreshness({ entry: odd, nowSec: T + 4, writable: true }).state, "half-way");
  assert.equal(decideFreshness({ entry: odd, nowSec: T + 5, writable: true }).state, "expired");
});

Deno.test("decideFreshness() keeps using a fresh entry whatever DNS said", () => {
  for (const txt of [same, changed, none, transient]) {
    assert.deepEqual(decideFreshness({ entry, nowSec: FRESH, writable: true, txt }), {
      action: "use-cached",
      state: "fresh",
    });
  }
});
