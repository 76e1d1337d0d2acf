/** The page's one door to the project's client library (browser entry). */

export type { Follower, FollowerStatus, Leader, LeaderStatus, ListPage, Relay, StreamInfo } from "../src/index.ts";
export { createRelay, RelayError } from "../src/index.ts";
