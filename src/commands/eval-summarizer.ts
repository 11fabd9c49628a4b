/** `livecap eval-summarizer`: ROUGE-L and scene accuracy of a summarizer on held-out synthetic videos. */
import { writeFile } from 'node:fs/promises';
import { intFlag, numberFlag, parseFlags, wantsHelp } from '../util/flags.js';
import { TextSeq2Seq } from '../models/seq2seq/text-seq2seq.js';
import { SUMMARIZER_EVAL_DEFAULTS as D, evaluateSummarizer } from '../train/summarizer/evaluate-summarizer.js';
import { EMBEDDED_CAPTIONER, EMBEDDED_SUMMARIZER } from '../paths.js';
import { CaptionerClient } from '../models/worker/captioner-client.js';

const HELP = `usage: livecap eval-summarizer [--model MODEL_DIR] [--videos ${D.videos}] [--window ${D.windowSeconds}] [--hop ${D.hopSeconds}]
                               [--captioner SPEC] [--json FILE]

  Cuts held-out synthetic videos into rolling windows, gives the summarizer each window's
  captions and compares its summary with the ground truth: ROUGE-L F1, and the share of
  summaries that name the right colours and shapes in the right order. The default model is
  the embedded summarizer. The captions come from the caption grammar (several phrasings per
  scene), or with --captioner from a captioner on the rendered scenes (SPEC as for livecap
  serve; 'embedded' for the embedded one): the two models together.`;

export async function evalSummarizerCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    model: { type: 'string' },
    videos: { type: 'string' },
    window: { type: 'string' },
    hop: { type: 'string' },
    captioner: { type: 'string' },
    json: { type: 'string' },
  });
  const model = await TextSeq2Seq.open(values.model ?? EMBEDDED_SUMMARIZER);
  const captionerSpec = values.captioner === 'embedded' ? EMBEDDED_CAPTIONER : values.captioner;
  const captioner =
    captionerSpec === undefined
      ? undefined
      : await CaptionerClient.start(captionerSpec).catch(async (err) => {
          await model.release();
          throw err;
        });
  try {
    const report = await evaluateSummarizer(
      model,
      {
        ...D,
        videos: intFlag('videos', values.videos, D.videos),
        windowSeconds: numberFlag('window', values.window, D.windowSeconds),
        hopSeconds: numberFlag('hop', values.hop, D.hopSeconds),
      },
      captioner,
    );
    for (const s of report.samples.slice(0, 4)) console.log(`captions: ${s.captions.join(' | ')}\n  summary:  ${s.summary}\n  truth:    ${s.reference}`);
    console.log(
      `${report.windows} windows: ROUGE-L F1 ${report.rougeL.toFixed(3)}, colour/shape words F1 ${report.contentF1.toFixed(3)}, ` +
        `windows with every colour and shape right ${(report.contentAccuracy * 100).toFixed(1)}%, ${report.msPerSummary.toFixed(0)} ms per summary`,
    );
    if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2) + '\n');
  } finally {
    await model.release();
    await captioner?.close();
  }
  return 0;
}
