/**
 * `bn-lens merge`'s work: the reports read layer by layer (src/cli/reportStreamFile.ts), merged layer by
 * layer and written as they are merged through the atomic writer (src/core/inspect/mergeStream.ts), so the
 * memory a merge needs does not grow with the size of the reports. A refusal met halfway (a damaged layer,
 * a report with fewer layers) leaves no file behind.
 */
import { StreamingMerge } from "../core/inspect/mergeStream";
import type { ReportOutline } from "../core/inspect/reportOutline";
import { writeFileAtomic } from "./output";
import { streamedReport } from "./reportStreamFile";

/** Merges the reports in `files` into `out`; returns the merged report without its per-channel data. */
export function mergeReportFiles(files: readonly string[], out: string, createdAt?: string): ReportOutline {
  const sources = files.map(streamedReport);
  try {
    const merge = new StreamingMerge(sources, files, createdAt);
    writeFileAtomic(out, merge.pieces());
    return merge.outline!;
  } finally {
    for (const s of sources) s.close();
  }
}
