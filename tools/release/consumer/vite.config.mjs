// The bundle a web app would make: the page in web/, built to web-dist/.
export default {
  root: 'web',
  build: { outDir: '../web-dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  logLevel: 'warn',
};
