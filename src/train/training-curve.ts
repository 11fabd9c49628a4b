/** The training-curve PNG written into a model directory: backbone pretraining, then decoder and fine-tuning. */
import { renderChart } from '../plot/line-chart.js';

export interface History {
  backbone: number[];
  decoderTrain: number[];
  decoderVal: number[];
  finetune?: number[];
}

export function trainingCurve(history: History): Buffer {
  const epochs = (ys: number[]) => ys.map((y, i) => [i + 1, y] as const);
  return renderChart([
    { title: 'backbone: concept detection', xLabel: 'epoch', yLabel: 'binary cross-entropy', series: [{ name: 'train', points: epochs(history.backbone) }] },
    {
      title: 'decoder: next word',
      xLabel: 'epoch',
      yLabel: 'cross-entropy',
      series: [
        { name: 'train', points: epochs(history.decoderTrain) },
        { name: 'val', points: epochs(history.decoderVal) },
        // Fine-tuning continues the decoder's epochs, on the joint model.
        ...(history.finetune?.length ? [{ name: 'fine-tune', points: history.finetune.map((y, i) => [history.decoderTrain.length + i + 1, y] as const) }] : []),
      ],
    },
  ]);
}
