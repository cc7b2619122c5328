// The question BN Lens asks when a model has symbolic dims the data does not fix: one sentence that names
// each open dim by its real name and says what to type, and the pre-filled answer. Pure, tested in Node.

/** What to ask for one input, built from the engine's "symbolic dims" message. */
export interface ShapeQuestion {
  input: string;
  /** One sentence for the input box and the panel. */
  sentence: string;
  /** The pre-filled answer, each open dim as <its name>: "x:Nx3x<height>x<width>". */
  value: string;
  /** Where the first <...> sits in `value` (selected, so typing replaces it). */
  selection: [number, number] | undefined;
}

/** Builds the question from the engine's message; undefined when the message is not about symbolic dims. */
export function shapeQuestion(message: string): ShapeQuestion | undefined {
  const m = /Input "([^"]+)" has symbolic dims (.+?) \((.+?)\) that neither/.exec(message);
  if (!m) return undefined;
  const [, input, namesText, declaredText] = m;
  const open = namesText.split(/,\s*/).filter(Boolean);
  const declared = declaredText.split(" x ");
  const dims = declared.map((d, i) => (i === 0 ? "N" : /^\d+$/.test(d) ? d : `<${d}>`));
  const value = `${input}:${dims.join("x")}`;
  const named = open.map((n) => `${n} (dim ${declared.indexOf(n)})`);
  const list = named.length <= 1 ? named.join("") : `${named.slice(0, -1).join(", ")} and ${named[named.length - 1]}`;
  const example = `${input}:${declared.map((d, i) => (i === 0 ? "N" : /^\d+$/.test(d) ? d : "640")).join("x")}`;
  const sentence =
    `Input "${input}" is declared ${declared.join(" × ")}, and the data does not fix ${list}: ` +
    `type its shape with a number for ${open.length === 1 ? "that dim" : "each of them"} and N for the batch, e.g. ${example}.`;
  const first = value.indexOf("<");
  return { input, sentence, value, selection: first >= 0 ? [first, value.indexOf(">", first) + 1] : undefined };
}
