/**
 * The shape prompt: when a run stops because an input's dims are symbolic or unknown (the typed
 * UserError.shapeNeeded, never the message text), ask for them pre-filled with the engine's suggestion and
 * its first <...> placeholder selected.
 */
import type { ShapeNeeded } from "../core/errors";
import { checkShapeText } from "../core/inputs/presets";
import { shapeQuestion } from "../core/inputs/shapeQuestion";
import type { PromptSeam } from "./prompts";

/** Asks for one input's shape; the trimmed "NAME:D0xD1x..." answer, or undefined when dismissed. */
export async function askShape(seam: PromptSeam, need: ShapeNeeded, message: string | undefined): Promise<string | undefined> {
  const first = need.suggestion.indexOf("<");
  // One sentence naming each open dim by its real name, pre-filled with those names as placeholders.
  const q = message ? shapeQuestion(message) : undefined;
  const answer = await seam.prompts.inputBox({
    id: "inputShape",
    title: `BN Lens: shape of input "${need.input}"`,
    prompt: q?.sentence ?? message?.replace(/--input-shape /g, ""),
    value: q?.value ?? need.suggestion,
    ...(q?.selection
      ? { valueSelection: q.selection }
      : first >= 0
        ? { valueSelection: [first, need.suggestion.indexOf(">", first) + 1] as [number, number] }
        : {}),
    ignoreFocusOut: true,
    validateInput: (t) => checkShapeText(t.trim()),
  });
  return answer?.trim() || undefined;
}

/** The shapes to run with next: the new answer replaces any earlier one for the same input. */
export function withShape(shapes: readonly string[] | undefined, input: string, answer: string): string[] {
  return [...(shapes ?? []).filter((x) => !x.startsWith(`${input}:`)), answer];
}
