import { emptyState, facts, h } from "../dom";
import { bytes, compact, integer, percent } from "../format";
import type { PanelData, PanelSection } from "./section";

/** The model card: size, shape, cost per token, tokenizer, files and where the model came from. */
export const modelSection: PanelSection = {
  id: "model",
  heading: "Model",
  dependsOn: ["model"],
  describe: (data) => data.model?.name ?? "",
  render(data: PanelData): Node {
    const model = data.model;
    if (!model) return emptyState("No model loaded yet.");
    const estimateRatio = model.parametersEstimate > 0 ? model.parameters / model.parametersEstimate : null;
    const totalFileBytes = model.files.reduce((sum, file) => sum + file.bytes, 0);
    return h(
      "div",
      { class: "section-body" },
      facts([
        ["name", model.name],
        ["architecture", `${model.architecture} (model_type ${model.modelType})`],
        [
          "parameters",
          `${compact(model.parameters)} (${integer(model.parameters)})`,
          `counted from the weights; 12 · n_layer · d² = 12 · ${model.numLayers} · ${model.hiddenSize}² = ${compact(model.parametersEstimate)}` +
            (estimateRatio !== null ? ` (counted is ${percent(estimateRatio, 0)} of it: the estimate leaves out embeddings, biases and norms)` : ""),
        ],
        ["FLOPs per token", `≈ ${compact(model.flopsPerToken)}`, "≈ 2 · parameters (one multiply and one add per weight)"],
        ["context", `${integer(model.contextLength)} tokens`],
        ["vocabulary", `${integer(model.vocabSize)} tokens`],
        ["shape", `${model.numLayers} layers · ${model.numHeads} heads (${model.numKvHeads} kv) · head_dim ${model.headDim} · d ${model.hiddenSize}`],
        [
          "KV bytes per token",
          bytes(model.kvBytesPerToken),
          `2 · ${model.numLayers} · ${model.numKvHeads} · ${model.headDim} · ${model.kvDtype === "float16" ? 2 : 4} B (${model.kvDtype})`,
        ],
        ["tokenizer", model.tokenizerType],
        ["LoRA inputs", model.loraInputs ? "yes: adapters are fed, no reload" : "no: adapters are merged into the weights"],
        ["source", model.source === "embedded" ? "embedded in the extension" : "folder", h("code", { class: "path" }, model.path)],
      ]),
      h("h3", undefined, `Files (${bytes(totalFileBytes)})`),
      h(
        "table",
        { class: "files" },
        h("thead", undefined, h("tr", undefined, h("th", { scope: "col" }, "file"), h("th", { scope: "col", class: "num" }, "size"))),
        h(
          "tbody",
          undefined,
          ...model.files.map((file) => h("tr", undefined, h("td", undefined, h("code", undefined, file.name)), h("td", { class: "num" }, bytes(file.bytes)))),
        ),
      ),
    );
  },
};
