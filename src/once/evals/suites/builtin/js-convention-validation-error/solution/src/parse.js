import { ValidationError } from './errors.js';

/**
 * Parse a yes/no answer ("yes", "y", "no", "n"; any case) into a boolean.
 */
export function parseYesNo(text) {
  const answer = text.trim().toLowerCase();
  if (answer === 'yes' || answer === 'y') return true;
  if (answer === 'no' || answer === 'n') return false;
  throw new ValidationError(`not a yes/no answer: ${text}`);
}

/**
 * Parse an age: a whole number from 0 to 150, written with digits only.
 */
export function parseAge(text) {
  const trimmed = String(text).trim();
  if (!/^\d+$/.test(trimmed)) throw new ValidationError(`not an age: ${text}`);
  const age = Number(trimmed);
  if (age > 150) throw new ValidationError(`age out of range: ${text}`);
  return age;
}
