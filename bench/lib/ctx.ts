import type { BenchStack } from "./stack.ts";

export interface Ctx {
  stack: BenchStack;
  quick: boolean;
  log: (line: string) => void;
}
