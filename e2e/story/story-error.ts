/** The story could not be told: a step did not turn out as it must (with what was seen). */
export class StoryError extends Error {
  constructor(step: string, detail: string) {
    super(`${step}: ${detail}`);
    this.name = 'StoryError';
  }
}
