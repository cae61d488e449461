/**
 * Bad input to the console: a form field or query parameter that is not
 * allowed, reported to the user with the field's name.
 *
 * @module
 */

/** A request field holds a value that is not allowed. */
export class InputError extends TypeError {
  /** The form field or query parameter, e.g. `from`. */
  readonly field: string;

  /** `field` is named first in the message: `from: must be a date and time, got "x"`. */
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = "InputError";
    this.field = field;
  }
}

/** `text` cut to `max` characters, for echoing user input back in messages. */
export function shown(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max - 1)}…` : text);
}
