import { existsSync } from 'node:fs';
import type { ImportedModel } from '@cardinal/backend-onnx/export';
import {
  BackendUnavailableError,
  type BuiltModel,
  buildFromJson,
  buildPretrainedModel,
  buildZooModel,
  type CostLimits,
  type FeatureOptions,
  FileError,
  GRAPH_FORMAT,
  getZooEntry,
  InputError,
  InternalError,
  type PretrainedConfig,
  parseInputShape,
  parsePretrainedConfig,
  parseResNetConfig,
  resolveResNetConfig,
  shapesEqual,
  UsageError,
  type WeightMap,
} from '@cardinal/core';
import { isFolder, readInputFile, readJsonFile } from './files.js';
import { FOLDER_WEIGHT_FILES, type ModelFolder, readModelFolder } from './folder.js';
import { type FetchOptions, fetchHfFolder, fetchUrl, isRemote } from './hub.js';
import { shippedWeightsFile } from './shipped.js';

/** Whether a positional `<model | config.json | folder>` names a path rather than a zoo entry. */
function isModelPath(spec: string): boolean {
  return spec.endsWith('.json') || spec.endsWith('.onnx') || spec.includes('/') || existsSync(spec);
}

/** Where a model's files come from, and what building it may cost. */
export interface ModelSourceOptions {
  /** Downloads (hf-hub names, weights URLs): progress, cache, offline. */
  fetch?: FetchOptions;
  /** Cost limits over the defaults (`NO_COST_LIMITS` lifts them). */
  limits?: Partial<CostLimits>;
}

/**
 * A weights spec made local: an https URL (torch.hub names checked) or `hf-hub:` downloaded
 * into the cache, a model folder's weights file, or the path as given.
 */
export async function localWeights(
  spec: string | undefined,
  fetch: FetchOptions = {},
): Promise<string | undefined> {
  if (spec === undefined) return undefined;
  if (spec.startsWith('hf-hub:')) return folderWeights(await fetchHfFolder(spec, fetch));
  if (isRemote(spec)) return fetchUrl(spec, fetch);
  return isFolder(spec) ? folderWeights(spec) : spec;
}

function folderWeights(dir: string): string {
  const f = readModelFolder(dir);
  if (!f.weightsFile)
    throw new FileError(`${dir}: no weights in the folder (expected ${FOLDER_WEIGHT_FILES.join(' or ')})`);
  return f.weightsFile;
}

/**
 * A positional `<model | config.json | folder>`: a zoo name, a config or fixture meta.json, a
 * timm model folder (config.json + weights), or `hf-hub:<org>/<name>` (fetched into the cache
 * by `ModelSource.open`). A file is read and parsed once, on first use, however many times a
 * command asks about it (its declared input shape, then the model).
 */
export class ModelSource {
  /** A config file or a folder: a path the command reads. */
  readonly isFile: boolean;
  readonly folder: ModelFolder | undefined;
  private parsed: { value: unknown } | undefined;
  /** An .onnx model: its graph and the weights it carries, as last imported. */
  private imported: ImportedModel | undefined;
  private onnxBytes: Buffer | undefined;
  /** backend-onnx's importer (its runtime-free subpath, an optional peer), loaded by `open`. */
  private importOnnx: typeof import('@cardinal/backend-onnx/export').importOnnx | undefined;

  constructor(
    readonly spec: string,
    /** Where the spec's files are (the cache folder of an hf-hub name). */
    readonly path: string = spec,
    readonly options: ModelSourceOptions = {},
  ) {
    this.isFile = isModelPath(path);
    this.folder = this.isFile && isFolder(path) ? readModelFolder(path) : undefined;
  }

  /** Like the constructor, and fetches an `hf-hub:` model into the cache first. */
  static async open(spec: string, options: ModelSourceOptions = {}): Promise<ModelSource> {
    if (spec.startsWith('hf-hub:'))
      return new ModelSource(spec, await fetchHfFolder(spec, options.fetch ?? {}), options);
    if (isRemote(spec))
      throw new UsageError(
        `${spec}: a model is a zoo name, a config, a folder or hf-hub:<org>/<name>; URLs go with --weights`,
      );
    const source = new ModelSource(spec, spec, options);
    if (source.isOnnx) {
      try {
        source.importOnnx = (await import('@cardinal/backend-onnx/export')).importOnnx;
      } catch {
        throw new BackendUnavailableError(
          `${spec}: reading .onnx files needs the package @cardinal/backend-onnx (its importer)`,
        );
      }
    }
    return source;
  }

  /** A name for the model in URLs and repositories: the label's last path part, without .json or .onnx. */
  static shortName(label: string): string {
    return label.replace(/^.*\//, '').replace(/\.(json|onnx)$/, '');
  }

  /** An ONNX file (imported into the IR, its initializers as the weights). */
  get isOnnx(): boolean {
    return this.isFile && this.path.endsWith('.onnx') && !this.folder;
  }

  /** A fixture meta.json's `features.out_indices` (the maps timm was asked for), if it has them. */
  declaredOutIndices(): number[] | undefined {
    if (!this.isFile || this.isOnnx || this.folder) return undefined;
    const v = this.json() as { features?: { out_indices?: unknown } } | null;
    const idx = v?.features?.out_indices;
    return Array.isArray(idx) && idx.every((i) => Number.isInteger(i)) ? [...(idx as number[])] : undefined;
  }

  /** A Cardinal graph document (`cardinal export --format graph`), not a config to build from. */
  get isGraphDocument(): boolean {
    if (!this.isFile || this.isOnnx || this.folder) return false;
    const v = this.json();
    return typeof v === 'object' && v !== null && (v as { format?: unknown }).format === GRAPH_FORMAT;
  }

  /** Whether the input may be of any rank (an .onnx model or a graph document), not only [N, C, H, W]. */
  get anyRank(): boolean {
    return this.isOnnx || this.isGraphDocument;
  }

  /** The weights an .onnx file carries, once loaded (used when no --weights is given). */
  get embeddedWeights(): WeightMap | undefined {
    return this.imported?.weights;
  }

  /**
   * The file imported for an input shape (its declared one when undefined). The file is read
   * once, and an import is reused while the shape asked for is the one it was made for: the
   * declared shape, then the model, cost one import.
   */
  private importFile(inputShape: readonly number[] | undefined): ImportedModel {
    if (this.imported && (!inputShape || shapesEqual(this.imported.graph.inputs[0]!.shape, inputShape)))
      return this.imported;
    this.onnxBytes ??= readInputFile(this.path, 'ONNX model');
    if (inputShape) {
      // A file exported with static shapes has them baked into its reshape targets: it runs at
      // its own batch (the commands' default batch of 1 gives way), and another image size is refused.
      const declared = this.importFile(undefined);
      const shape = declared.graph.inputs[0]!.shape;
      const asked = inputShape;
      const fixed = (i: number) => !declared.symbolicAxes.includes(i) && shape[i] !== asked[i];
      if (asked.length === shape.length && asked.some((_, i) => i > 0 && fixed(i)))
        throw new InputError(
          `${this.path}: the model's input is exported with the static shape [${shape.join(', ')}]; it cannot take [${inputShape.join(', ')}] (export it with dynamic axes)`,
        );
      if (fixed(0)) inputShape = [shape[0]!, ...inputShape.slice(1)];
      if (shapesEqual(shape, inputShape)) return declared;
    }
    if (!this.importOnnx)
      throw new InternalError(
        `${this.path}: an .onnx source is opened with ModelSource.open (it loads the importer)`,
      );
    this.imported = this.importOnnx(this.onnxBytes, {
      source: this.path,
      ...(inputShape ? { inputShape: [...inputShape] } : {}),
    });
    return this.imported;
  }

  /** The paths this source reads: never written by the command, even with --force. */
  get files(): string[] {
    if (this.folder)
      return [this.folder.configFile, ...(this.folder.weightsFile ? [this.folder.weightsFile] : [])];
    if (this.isFile) return [this.path];
    const shipped = this.shippedWeights;
    return shipped ? [shipped] : [];
  }

  /** A zoo entry's shipped weights file (in @cardinal/pretrained), if it has one. */
  get shippedWeights(): string | undefined {
    return this.isFile ? undefined : shippedWeightsFile(this.spec);
  }

  /** The folder's weights file, if it has one. */
  get weightsFile(): string | undefined {
    return this.folder?.weightsFile;
  }

  /**
   * The weights to use when no --weights is given: a folder's own (a folder without any is an
   * error: a pretrained model run with random weights would give plausible nonsense), else
   * a zoo entry's shipped weights, else none (the deterministic initialisation).
   */
  defaultWeights(): string | undefined {
    if (this.folder && !this.folder.weightsFile)
      throw new FileError(
        `${this.spec}: no weights in the folder (expected ${FOLDER_WEIGHT_FILES.join(' or ')}); give --weights`,
      );
    return this.folder?.weightsFile ?? this.shippedWeights;
  }

  private json(): unknown {
    if (this.isOnnx) throw new InputError(`${this.path}: an ONNX model has no JSON config`);
    this.parsed ??= { value: readJsonFile(this.path, 'config file') };
    return this.parsed.value;
  }

  /** The timm config (transform, labels) of a folder or of a config.json with `architecture`. */
  pretrained(): PretrainedConfig | undefined {
    if (this.folder) return this.folder.config;
    if (!this.isFile) return undefined;
    const v = this.json();
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, 'architecture'))
      return undefined;
    return parsePretrainedConfig(v, this.path);
  }

  /**
   * The input shape the source declares on its own (a meta.json's input_shape, a timm config's
   * pretrained_cfg.input_size), validated; a zoo entry's own input size; undefined for the other zoo names and configs without one.
   */
  declaredInputShape(): number[] | undefined {
    if (!this.isFile) {
      const input = getZooEntry(this.spec).input;
      return input ? [1, ...input] : undefined;
    }
    if (this.isOnnx) return [...this.importFile(undefined).graph.inputs[0]!.shape];
    if (this.isGraphDocument) return [...this.load(undefined).graph.inputs[0]!.shape];
    const p = this.pretrained();
    if (p) return [1, p.resnet.inChans, ...p.preprocess.inputSize];
    const v = this.json();
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, 'input_shape'))
      return undefined;
    return parseInputShape((v as { input_shape: unknown }).input_shape, this.path);
  }

  /** The input channels the model takes: what the source declares, else its config's in_chans (parsed and checked), else 3. */
  channels(): number {
    const declared = this.declaredInputShape();
    if (declared) return declared[1]!;
    if (!this.isFile) return resolveResNetConfig(getZooEntry(this.spec).config).inChans;
    const v = this.json();
    const isObject = (x: unknown): x is Record<string, unknown> =>
      typeof x === 'object' && x !== null && !Array.isArray(x);
    // A meta.json holds the model config under `config`; a module fixture's config is not a model.
    const config = isObject(v) && 'config' in v && v.kind !== 'module' ? v.config : v;
    return isObject(config) && 'block' in config ? parseResNetConfig(config, this.path).inChans : 3;
  }

  /** Builds the model for an input shape (the cost limits of this process apply). */
  load(
    inputShape: readonly number[] | undefined,
    zooOverrides: { numClasses?: number; anyModel?: boolean; features?: FeatureOptions } = {},
  ): BuiltModel & { label: string } {
    const limits = this.options.limits;
    const features = zooOverrides.features ? { features: zooOverrides.features } : {};
    // anyModel: the class count applies to configs and folders too (fine-tuning's new head).
    const classes = zooOverrides.anyModel ? zooOverrides.numClasses : undefined;
    if (this.isOnnx) {
      if (zooOverrides.features)
        throw new UsageError(`${this.spec}: feature maps come from a Cardinal model, not an .onnx file`);
      const { graph } = this.importFile(inputShape);
      return { graph, kind: 'model', label: this.spec };
    }
    if (this.folder) {
      const cfg = this.folder.config;
      const pretrained =
        classes === undefined ? cfg : { ...cfg, resnet: { ...cfg.resnet, numClasses: classes } };
      const built = buildPretrainedModel(pretrained, { inputShape, limits, ...features });
      return { ...built, kind: 'model', resnet: pretrained.resnet, pretrained, label: this.spec };
    }
    if (!this.isFile) {
      const numClasses = zooOverrides.numClasses === undefined ? {} : { numClasses: zooOverrides.numClasses };
      const built = buildZooModel(this.spec, { inputShape, limits, ...numClasses, ...features });
      const resnet = resolveResNetConfig({ ...getZooEntry(this.spec).config, ...numClasses });
      return { ...built, kind: 'model', resnet, label: this.spec };
    }
    const json = this.json();
    const withClasses =
      classes !== undefined && typeof json === 'object' && json !== null && 'block' in json
        ? { ...(json as object), num_classes: classes }
        : classes !== undefined && typeof json === 'object' && json !== null && 'config' in json
          ? { ...(json as object), config: { ...(json as { config: object }).config, num_classes: classes } }
          : json;
    const built = buildFromJson(withClasses, { inputShape, source: this.path, limits, ...features });
    return { ...built, label: built.graph.name === 'custom' ? this.spec : built.graph.name };
  }
}
