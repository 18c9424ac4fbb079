declare module 'virtual:imagenet-labels' {
  const labels: string[];
  export default labels;
}
