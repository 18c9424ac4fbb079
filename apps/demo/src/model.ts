import { importOnnx } from '@cardinal/backend-onnx/export';
import {
  buildFromJson,
  buildModel,
  defaultPreprocess,
  type FeatureInfo,
  type FeatureOptions,
  type Graph,
  getZooEntry,
  IMAGENET_DEFAULTS,
  initTestWeights,
  isTorchCheckpoint,
  loadSafetensorsWeights,
  loadWeights,
  type ModelSummary,
  type PreprocessConfig,
  readTorchCheckpoint,
  type StageSummary,
  summarize,
  type WeightMap,
} from '@cardinal/core';

export interface LoadedModel {
  graph: Graph;
  weights: WeightMap;
  params: number;
  macs: number;
  stages: StageSummary[];
  source: string;
  /** The transform images go through: a timm config's pretrained_cfg, else ImageNet's at the chosen size. */
  preprocess: PreprocessConfig;
  /** A timm config's label names; undefined means ImageNet's for 1000 classes. */
  labels?: readonly string[];
  /** Whether the input is an image batch [1, C, H, W]; other inputs take random tensors only. */
  imageInput: boolean;
  /** The weights are the seeded initialisation, not a trained model's: the result panel says so. */
  randomWeights: boolean;
  /** timm's features_only model of a ResNet (every map, its weights the model's own), built when asked. */
  features?: () => FeatureModel;
}

/** The feature extractor of a loaded model: one output per map, in `info`'s order. */
export interface FeatureModel {
  graph: Graph;
  weights: WeightMap;
  info: FeatureInfo[];
}

export interface ModelChoice {
  zooName: string;
  size: number;
  seed: number;
  configJson?: { name: string; text: string };
  /** safetensors or a PyTorch checkpoint (.pth/.pt/.bin, zip or legacy), told apart by content. */
  weightsFile?: { name: string; bytes: Uint8Array };
  /** An .onnx model: its graph and weights both, imported as the model declares them. */
  onnxFile?: { name: string; bytes: Uint8Array };
}

/** Params and MACs per stage as the diagram groups them: stem, layer1..N, head. */
function stagesOf(s: ModelSummary): StageSummary[] {
  const stages = new Map<string, StageSummary>();
  for (const l of s.layers) {
    const top = l.path.split('.')[0] ?? '';
    const stage = /^layer\d+$/.test(top)
      ? top
      : /^(fc|global_pool|flatten|head)$/.test(top)
        ? 'head'
        : 'stem';
    const row = stages.get(stage) ?? { stage, params: 0, macs: 0 };
    row.params += l.params;
    row.macs += l.macs;
    stages.set(stage, row);
  }
  return [...stages.values()];
}

/** Weights by content: torch.save's formats or safetensors, loaded strictly by state_dict key. */
function readWeights(graph: Graph, file: { name: string; bytes: Uint8Array }): WeightMap {
  if (isTorchCheckpoint(file.bytes))
    return loadWeights(graph, readTorchCheckpoint(file.bytes, { source: file.name }).tensors, {
      source: file.name,
    }).weights;
  return loadSafetensorsWeights(graph, file.bytes, { strict: true, source: file.name }).weights;
}

/**
 * Builds the graph (zoo name, config JSON or a timm folder's config.json) and its weights: a
 * file, or the seeded test initialisation (random BatchNorm statistics, so every block shapes
 * the output).
 */
export function loadModel(c: ModelChoice): LoadedModel {
  if (c.onnxFile) return loadOnnx(c.onnxFile);
  const json = c.configJson ? (JSON.parse(c.configJson.text) as unknown) : undefined;
  const source = c.configJson?.name;
  // A timm config states its own input size; other models take the size field's.
  const timm = typeof json === 'object' && json !== null && 'architecture' in json;
  // A zoo model made for its own input (fashion_resnext: 1x28x28) keeps it; the others take the size field's.
  const own = json ? undefined : getZooEntry(c.zooName).input;
  const inputShape = timm ? undefined : own ? [1, ...own] : [1, 3, c.size, c.size];
  const build = (features?: FeatureOptions) => {
    const options = { source, inputShape, ...(features ? { features } : {}) };
    return json ? buildFromJson(json, options) : buildModel(c.zooName, options);
  };
  const built = build();
  const { graph, pretrained } = built;
  const weights = c.weightsFile ? readWeights(graph, c.weightsFile) : initTestWeights(graph, c.seed);
  // The same network without its head: its weights are the model's, by the same names.
  const features = (): FeatureModel => {
    const f = build({});
    const kept = new Map([...weights].filter(([k]) => Object.hasOwn(f.graph.params, k)));
    return { graph: f.graph, weights: kept, info: f.featureInfo! };
  };
  const [, ch, h, w] = graph.inputs[0]!.shape as number[];
  return describe(graph, weights, {
    source: `${source ?? c.zooName}, ${c.weightsFile ? c.weightsFile.name : `random weights (seed ${c.seed})`}`,
    preprocess: pretrained?.preprocess ?? defaultPreprocess(ch === 1 ? 1 : 3, [h!, w!]),
    ...(pretrained?.labelNames ? { labels: pretrained.labelNames } : {}),
    randomWeights: !c.weightsFile,
    ...(built.featureInfo ? { features } : {}),
  });
}

/**
 * An .onnx file through the importer: its weights are its own. An image input ([1, C, H, W])
 * takes ImageNet's transform at the size it declares; other inputs take random tensors.
 */
function loadOnnx(file: { name: string; bytes: Uint8Array }): LoadedModel {
  const { graph, weights, opset, producer } = importOnnx(file.bytes, { source: file.name });
  const shape = graph.inputs[0]!.shape;
  const image = shape.length === 4 && (shape[1] === 3 || shape[1] === 1);
  return describe(graph, weights, {
    source: `${file.name} (opset ${opset}${producer ? `, ${producer}` : ''})`,
    preprocess: {
      ...IMAGENET_DEFAULTS,
      inputSize: image ? [shape[2]!, shape[3]!] : [1, 1],
      ...(shape[1] === 1 ? { channels: 1, mean: [0.5], std: [0.5] } : {}),
    },
    imageInput: image,
  });
}

function describe(
  graph: Graph,
  weights: WeightMap,
  rest: Pick<LoadedModel, 'source' | 'preprocess' | 'labels'> &
    Partial<Pick<LoadedModel, 'imageInput' | 'randomWeights' | 'features'>>,
): LoadedModel {
  const s = summarize(graph);
  return {
    graph,
    weights,
    params: s.params,
    macs: s.macs,
    stages: stagesOf(s),
    imageInput: true,
    randomWeights: false,
    ...rest,
  };
}
