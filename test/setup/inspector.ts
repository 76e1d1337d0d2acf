/**
 * The replica's `inspector` user for test stacks: a fresh random password per
 * process; only its SHA-256 goes on redis-server's command line.
 */
import { createHash, randomBytes } from "node:crypto";
import { INSPECTOR_USER } from "../../src/server/native.ts";

const password = randomBytes(18).toString("base64url");

export const inspector = {
  sha256: createHash("sha256").update(password).digest("hex"),
  auth: { user: INSPECTOR_USER, password },
} as const;
