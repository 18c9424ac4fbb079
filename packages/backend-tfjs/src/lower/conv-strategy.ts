/** How a grouped convolution is lowered to tfjs ops (see planConv); here, apart from tfjs's types, for the public options. */
export type ConvStrategy = 'dense' | 'depthwise' | 'expand' | 'gemm' | 'blockdiag' | 'slices';
