import { buildBlockGraph } from './builders/block-config.js';
import { buildResNet, type FeatureInfo, type FeatureOptions } from './builders/resnet.js';
import { parseResNetConfig, type ResolvedConfig } from './config/resnet.js';
import type { CostLimits } from './cost.js';
import { ConfigError } from './errors.js';
import type { Graph } from './ir/graph.js';
import { inferShapes } from './passes/infer-shapes.js';
import {
  buildPretrainedModel,
  type PretrainedConfig,
  parsePretrainedConfig,
} from './pretrained/timm-config.js';
import { GRAPH_FORMAT, graphFromDocument } from './serialize.js';
import { shapesEqual } from './tensor.js';
import { buildZooModel } from './zoo/zoo.js';

export interface ModelSpecOptions {
  /** [N, C, H, W]; defaults: a fixture's input_shape, else [1, in_chans, 224, 224]. */
  inputShape?: readonly number[];
  /** Used in error messages (a file name). */
  source?: string;
  /** Cost bounds checked while building (DEFAULT_COST_LIMITS when omitted). */
  limits?: Partial<CostLimits>;
  /** Build the feature extractor (timm's features_only): the maps at these indices (default all). */
  features?: FeatureOptions;
}

/**
 * The one reader of a meta.json `input_shape` (and of any input shape a user states): four
 * positive integers [N, C, H, W], or a ConfigError naming the source.
 */
export function parseInputShape(value: unknown, source: string, key = 'input_shape'): number[] {
  if (
    !Array.isArray(value) ||
    value.length !== 4 ||
    !value.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0)
  ) {
    const shown = JSON.stringify(value);
    throw new ConfigError(
      `${source}: ${key} must be four positive integers [N, C, H, W], got ${shown === undefined ? 'nothing' : shown.slice(0, 80)}`,
    );
  }
  return [...value] as number[];
}

export interface BuiltModel {
  graph: Graph;
  kind: 'model' | 'block';
  /** The fixture meta.json this came from, when it came from one. */
  meta?: Record<string, unknown>;
  /** The ResNet configuration it was built from (absent for a single block). */
  resnet?: ResolvedConfig;
  /** The timm config.json this came from (architecture, transform, labels), when it came from one. */
  pretrained?: PretrainedConfig;
  /** Every feature map's timm feature_info (ResNet models), whether built as features or not. */
  featureInfo?: FeatureInfo[];
}

function noFeatures(options: ModelSpecOptions, source: string, what: string): void {
  if (options.features)
    throw new ConfigError(`${source}: feature maps come from a ResNet config or a zoo model, not ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Builds a graph from any JSON a user may hand over: a fixture meta.json (its `config` is
 * used), a timm model folder's config.json (`architecture`, `pretrained_cfg`), a timm ResNet
 * config (`block`, `layers`, ...), a block config (`module`, `args`), or a Cardinal graph
 * document (`format: "cardinal.graph"`, as `cardinal export --format graph` writes one).
 */
export function buildFromJson(value: unknown, options: ModelSpecOptions = {}): BuiltModel {
  const source = options.source ?? 'config';
  if (!isRecord(value))
    throw new ConfigError(`${source}: expected a JSON object (a model config or a meta.json)`);
  if (value.format === GRAPH_FORMAT) {
    noFeatures(options, source, 'a graph document');
    const graph = graphFromDocument(value, source);
    const declared = graph.inputs[0]!;
    // Another input shape (batch, image size) where the graph allows it; a wrong rank is refused.
    if (!options.inputShape || graph.inputs.length !== 1 || shapesEqual(declared.shape, options.inputShape))
      return { graph, kind: 'model' };
    if (options.inputShape.length !== declared.shape.length)
      throw new ConfigError(
        `${source}: the graph's input '${declared.name}' has rank ${declared.shape.length}, not ${options.inputShape.length}`,
      );
    return { graph: inferShapes(graph, { [declared.name]: options.inputShape }), kind: 'model' };
  }
  let config: unknown = value;
  let meta: Record<string, unknown> | undefined;
  let inputShape = options.inputShape;
  if ('config' in value && ('kind' in value || 'input_shape' in value)) {
    meta = value;
    config = value.config;
    // A meta.json's input_shape is validated even when the caller overrides it: a bad file is a bad file.
    const declared = 'input_shape' in value ? parseInputShape(value.input_shape, source) : undefined;
    inputShape ??= declared;
  }
  if (!meta && 'architecture' in value) {
    // A timm model folder's config.json.
    const pretrained = parsePretrainedConfig(value, source);
    const built = buildPretrainedModel(pretrained, {
      inputShape,
      limits: options.limits,
      ...(options.features ? { features: options.features } : {}),
    });
    return { ...built, kind: 'model', resnet: pretrained.resnet, pretrained };
  }
  if (!isRecord(config)) throw new ConfigError(`${source}: 'config' must be an object`);
  const name = typeof meta?.model === 'string' ? meta.model : undefined;
  if ('module' in config) {
    noFeatures(options, source, 'a block config');
    if (!inputShape)
      throw new ConfigError(
        `${source}: a block config needs an input shape (--input-size or a meta.json input_shape)`,
      );
    return { graph: buildBlockGraph(config, inputShape, source, options.limits), kind: 'block', meta };
  }
  if ('block' in config) {
    const c = parseResNetConfig(config, source);
    const built = buildResNet(c, {
      inputShape,
      name: name ?? 'custom',
      limits: options.limits,
      ...(options.features ? { features: options.features } : {}),
    });
    return { ...built, kind: 'model', meta, resnet: c };
  }
  throw new ConfigError(
    `${source}: not a model config: expected 'block' and 'layers' (timm ResNet arguments) or 'module' and 'args' (a block)`,
  );
}

/** A zoo name, or JSON text/value as accepted by buildFromJson. */
export function buildModel(
  spec: string | Record<string, unknown>,
  options: ModelSpecOptions = {},
): BuiltModel {
  if (typeof spec === 'string') {
    const built = buildZooModel(spec, {
      inputShape: options.inputShape,
      limits: options.limits,
      ...(options.features ? { features: options.features } : {}),
    });
    return { ...built, kind: 'model' };
  }
  return buildFromJson(spec, options);
}
