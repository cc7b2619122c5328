/** What kind of user-facing problem an error is; the CLI maps every kind to exit code 2. */
export type UserErrorKind = "usage" | "model" | "data" | "cancelled" | "resource";

/**
 * A problem the user can fix, with one plain sentence saying what went wrong and what to do.
 * Anything that is not a UserError is a bug in BN Lens.
 */
export class UserError extends Error {
  constructor(readonly kind: UserErrorKind, message: string, readonly detail?: string) {
    super(message);
    this.name = "UserError";
  }
}

/** True for errors that carry a message meant for the user. */
export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "UserError");
}
