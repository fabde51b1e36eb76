// Placeholder entry: the panel UI is built in webview-ui/src (see issue "The panel").
export {};
