/** The page's one door to the project's client library (browser entry). */

export type {
  Follower,
  FollowerStatus,
  Leader,
  LeaderStatus,
  ListPage,
  ReasonCode,
  Relay,
  SavedLeader,
  StreamInfo,
} from "../src/index.ts";
export { createRelay, MAX_NAME_BYTES, RelayError, TabElection } from "../src/index.ts";
