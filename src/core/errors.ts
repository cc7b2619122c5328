/** The kinds of user-facing problem, in one list (protocol schemas check them). */
export const USER_ERROR_KINDS = ["usage", "model", "data", "cancelled", "resource"] as const;
/** What kind of user-facing problem an error is; the CLI maps every kind to exit code 2. */
export type UserErrorKind = (typeof USER_ERROR_KINDS)[number];

/** An input whose dims BN Lens needs, with a suggested "NAME:D0xD1x..." answer (<...> marks what to fill in). */
export interface ShapeNeeded {
  input: string;
  suggestion: string;
}

/**
 * A problem the user can fix, with one plain sentence saying what went wrong and what to do.
 * Anything that is not a UserError is a bug in BN Lens.
 */
export class UserError extends Error {
  constructor(
    readonly kind: UserErrorKind,
    message: string,
    readonly detail?: string,
    /** Set when the run needs a shape for an input (symbolic or unknown dims): the editor asks for it and retries. */
    readonly shapeNeeded?: ShapeNeeded,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** True for errors that carry a message meant for the user. */
export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "UserError");
}

/**
 * Makes a message safe to show on one line: names taken from a model or file may hold control characters
 * or run to thousands of characters. Control characters are escaped; an overlong message keeps its start
 * (what is wrong) and its end (what to do).
 */
export function oneLine(message: string, maxLength = 600): string {
  let text = message.replace(/[\u0000-\u001f\u007f]/g, (c) =>
    c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  if (text.length > maxLength) text = `${text.slice(0, maxLength - 200)} … ${text.slice(-190)}`;
  return text;
}
