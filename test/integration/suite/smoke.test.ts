/**
 * First checks in a real VS Code: the extension activates, onnxruntime-node (a native module) loads
 * and computes inside the extension host, and the workbench opens a sample file where a user would
 * see it.
 */
import * as assert from "assert";
import * as path from "path";
import * as vscode from "vscode";
import { ui, skipWithoutUi, EXTENSION_ID } from "../uiBridge";

/** Minimal protobuf writer, enough for the one-node ONNX model below. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
const num = (field: number, n: number): number[] => [...varint(field << 3), ...varint(n)];
const bytes = (field: number, b: number[]): number[] => [...varint((field << 3) | 2), ...varint(b.length), ...b];
const str = (field: number, s: string): number[] => bytes(field, [...Buffer.from(s, "utf8")]);

/** An ONNX model `y = Neg(x)` on float[3] (ModelProto, opset 13), written by hand. */
function negModel(): Uint8Array {
  const tensor3 = (name: string): number[] => [...str(1, name), ...bytes(2, bytes(1, [...num(1, 1 /* FLOAT */), ...bytes(2, bytes(1, num(1, 3)))]))];
  const graph = [...bytes(1, [...str(1, "x"), ...str(2, "y"), ...str(4, "Neg")]), ...str(2, "smoke"), ...bytes(11, tensor3("x")), ...bytes(12, tensor3("y"))];
  return Uint8Array.from([...num(1, 8), ...bytes(8, num(2, 13)), ...bytes(7, graph)]);
}

describe("smoke: the extension in a real VS Code", () => {
  it("is installed from the development folder and activates", async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not among ${vscode.extensions.all.map((e) => e.id).join(", ")}`);
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
  });

  it("loads onnxruntime-node from the extension's node_modules and runs a model", async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    // The same module the bundled extension requires (webpack keeps it external).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require(path.join(ext.extensionPath, "node_modules", "onnxruntime-node")) as typeof import("onnxruntime-node");
    const session = await ort.InferenceSession.create(negModel());
    try {
      assert.deepStrictEqual([...session.inputNames], ["x"]);
      const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, -2, 3.5]), [3]) });
      const y = out.y;
      assert.ok(y);
      assert.deepStrictEqual(Array.from(y.data as Float32Array), [-1, 2, -3.5]);
    } finally {
      await session.release();
    }
  });

  it("opens the sample workspace", () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.ok(
      folders.some((f) => path.basename(f.uri.fsPath) === "sample-workspace"),
      `workspace folders: ${folders.map((f) => f.uri.toString()).join(", ") || "(none)"}`,
    );
  });

  it("opens a sample file through Quick Open and shows it in the editor", async function () {
    skipWithoutUi(this);
    this.timeout(90_000);
    assert.ok(await ui.waitFor(".monaco-workbench", { timeoutMs: 30_000, state: "visible" }), "the workbench did not render");
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    await ui.quickOpen("prose.md");

    const editor = await ui.until("the editor to show prose.md", async () => {
      const active = vscode.window.activeTextEditor;
      return active && path.basename(active.document.uri.fsPath) === "prose.md" ? active : undefined;
    });
    assert.match(editor.document.getText(), /command line arguments/);
    // Earlier tests may have left this file scrolled: start from its top.
    editor.selection = new vscode.Selection(0, 0, 0, 0);
    editor.revealRange(new vscode.Range(0, 0, 0, 0), vscode.TextEditorRevealType.AtTop);
    // What the user sees: the text in the editor's DOM, and a tab for the file.
    const lines = await ui.until("rendered editor lines", async () => {
      const l = await ui.query(".monaco-editor .view-lines .view-line");
      return l.some((x) => x.text.includes("Getting started")) ? l : undefined;
    });
    assert.ok(lines.length > 5, `only ${lines.length} lines rendered`);
    const tabs = await ui.query(".tabs-container .tab");
    assert.ok(
      tabs.some((t) => t.text.includes("prose.md")),
      `tabs: ${tabs.map((t) => t.text).join(" | ")}`,
    );
    await ui.screenshot("smoke-sample-file");
  });
});
