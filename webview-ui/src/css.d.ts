/** panel.css is emitted by webpack as dist/webview/panel.css (asset/resource); the import returns its URL. */
declare module "*.css" {
  const url: string;
  export default url;
}
