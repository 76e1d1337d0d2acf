/** The page's one door to the project's client library (browser entry). */

export type {
  ChangeText,
  Follower,
  FollowerStatus,
  Leader,
  LeaderStatus,
  ListPage,
  MakeChange,
  ReasonCode,
  Relay,
  SavedLeader,
  StreamInfo,
} from "../src/index.ts";
export { changeText, createRelay, MAX_NAME_BYTES, RelayError, TabElection } from "../src/index.ts";
