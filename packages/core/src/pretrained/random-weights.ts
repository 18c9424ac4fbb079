/**
 * What every place that shows a prediction says when the weights are an initialisation, not a
 * trained model: the CLI's table header, the server's responses, the demo's panel. No pretrained
 * ImageNet file ships, so a zoo name alone gives random weights and confident nonsense.
 */
export const RANDOM_WEIGHTS_WARNING =
  'RANDOM WEIGHTS: these classes mean nothing. The model has no trained weights: pass --weights ' +
  '(a torchvision .pth, a timm safetensors file or folder, or hf-hub:timm/<name> where there is a ' +
  'network), or try fashion_resnext, whose trained Fashion-MNIST weights ship with Cardinal.';

/** What a JSON answer adds when its weights are an initialisation (nothing otherwise). */
export function randomWeightsFields(random: boolean | undefined): {
  random_weights?: true;
  warning?: string;
} {
  return random ? { random_weights: true, warning: RANDOM_WEIGHTS_WARNING } : {};
}
