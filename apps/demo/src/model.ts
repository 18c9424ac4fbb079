import {
  buildFromJson,
  buildModel,
  type Graph,
  initTestWeights,
  loadSafetensorsWeights,
  type ModelSummary,
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
}

export interface ModelChoice {
  zooName: string;
  size: number;
  seed: number;
  configJson?: { name: string; text: string };
  safetensors?: { name: string; bytes: Uint8Array };
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

/**
 * Builds the graph (zoo name or config JSON) and its weights: a file, or the seeded test
 * initialisation (random BatchNorm statistics, so every block shapes the output).
 */
export function loadModel(c: ModelChoice): LoadedModel {
  const inputShape = [1, 3, c.size, c.size];
  const graph = c.configJson
    ? buildFromJson(JSON.parse(c.configJson.text), { inputShape, source: c.configJson.name }).graph
    : buildModel(c.zooName, { inputShape }).graph;
  const weights = c.safetensors
    ? loadSafetensorsWeights(graph, c.safetensors.bytes, { strict: true, source: c.safetensors.name }).weights
    : initTestWeights(graph, c.seed);
  const s = summarize(graph);
  return {
    graph,
    weights,
    params: s.params,
    macs: s.macs,
    stages: stagesOf(s),
    source: `${c.configJson?.name ?? c.zooName}, ${c.safetensors ? c.safetensors.name : `random weights (seed ${c.seed})`}`,
  };
}
