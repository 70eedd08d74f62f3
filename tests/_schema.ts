// Validates `--json` reports against the published schema (lib/report/report.schema.json)
// with Ajv, so that every report a test produces is checked, not just its fields.
import { Ajv } from "ajv";
import assert from "node:assert/strict";

const schema = JSON.parse(
  await Deno.readTextFile(new URL("../lib/report/report.schema.json", import.meta.url)),
);
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/**
 * Asserts that a value is a valid `--json` report.
 *
 * @param report The parsed JSON.
 */
export function assertValidReport(report: unknown): void {
  assert.ok(validate(report), JSON.stringify(validate.errors, null, 2));
}
