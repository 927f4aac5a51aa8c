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
