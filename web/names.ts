/**
 * Stream names as the relay counts them: in UTF-8 bytes (MAX_NAME_BYTES, the
 * client's own limit), not in characters. An accented letter is 2 bytes, many
 * scripts 3, an emoji 4, so a field's `maxlength` (characters) cannot say it;
 * this lets the field refuse a name as it is typed instead of the relay later.
 */
import { MAX_NAME_BYTES } from "./relay.ts";

const utf8 = new TextEncoder();

export function utf8Length(text: string): number {
  return utf8.encode(text).length;
}

/** Why a stream name (as the form sends it: trimmed) is too long, in plain words; undefined when it fits. */
export function streamNameTooLong(name: string): string | undefined {
  const bytes = utf8Length(name.trim());
  if (bytes <= MAX_NAME_BYTES) return undefined;
  return `This name is too long: ${bytes} bytes, and a stream name holds at most ${MAX_NAME_BYTES}. Accented letters and other non-Latin characters take 2 to 4 bytes each, so shorten it by ${bytes - MAX_NAME_BYTES} bytes.`;
}
