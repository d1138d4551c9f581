/**
 * Fills `{text}` and `{label}` of a dataset's prompt template in one pass, so record text is never
 * itself substituted (a record containing "{label}" stays as written). The worker builds every
 * private prompt and the public prompt with it; bench:model's recordInfluence uses it too, so it
 * measures the prompts the product sends.
 */
export function fillPrompt(template: string, text: string, label: string | null): string {
  return template.replace(/\{(text|label)\}/g, (_, name: string) => (name === 'text' ? text : (label ?? '')));
}
