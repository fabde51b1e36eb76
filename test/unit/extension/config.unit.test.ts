import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  CONFIG_BOUNDS,
  CONFIG_DEFAULTS,
  CONFIG_KEYS,
  CONFIG_SECTION,
  RESTRICTED_KEYS,
  classifyConfigChange,
  parseLensConfig,
  type LensConfig,
} from "../../../src/extension/config";
import { repoRoot } from "../../helpers/paths";

const fromObject = (raw: Record<string, unknown>) => parseLensConfig((key) => raw[key]);

test("no settings gives the defaults and no problems", () => {
  const { config, problems } = fromObject({});
  assert.deepEqual(config, CONFIG_DEFAULTS);
  assert.deepEqual(problems, []);
});

test("valid settings are read through their keys", () => {
  const { config, problems } = fromObject({
    model: " lens-llama-sp ",
    modelFolders: ["/models", "", "/models", "/more"],
    "scoring.method": "rolling",
    "scoring.window": 256,
    "scoring.topK": 10,
    "highlights.colorMode": "gltr",
    "highlights.opacity": 0.5,
    "inlineAnnotations.granularity": "block",
    "liveScoring.enabled": false,
    "liveScoring.debounceMs": 250,
    oversizedDocuments: "refuse",
    "engine.threads": 2,
    "engine.kvCacheBudgetMB": 64,
  });
  assert.deepEqual(problems, []);
  assert.equal(config.model, "lens-llama-sp");
  assert.deepEqual(config.modelFolders, ["/models", "/more"]);
  assert.equal(config.method, "rolling");
  assert.equal(config.window, 256);
  assert.equal(config.topK, 10);
  assert.equal(config.colorMode, "gltr");
  assert.equal(config.opacity, 0.5);
  assert.equal(config.annotationGranularity, "block");
  assert.equal(config.liveScoring, false);
  assert.equal(config.debounceMs, 250);
  assert.equal(config.oversizedDocuments, "refuse");
  assert.equal(config.engineThreads, 2);
  assert.equal(config.kvCacheBudgetMB, 64);
});

test("bad values fall back to their defaults with one sentence each", () => {
  const { config, problems } = fromObject({
    model: "",
    modelFolders: "/not/a/list",
    "scoring.method": "fancy",
    "scoring.window": -5,
    "scoring.topK": 2.5,
    "highlights.opacity": 3,
    "liveScoring.enabled": "yes",
    "liveScoring.debounceMs": NaN,
    "engine.threads": 0,
  });
  assert.equal(config.model, CONFIG_DEFAULTS.model);
  assert.deepEqual(config.modelFolders, []);
  assert.equal(config.method, "sliding");
  assert.equal(config.window, 0);
  assert.equal(config.topK, 5);
  assert.equal(config.opacity, 1);
  assert.equal(config.liveScoring, true);
  assert.equal(config.debounceMs, 500);
  assert.equal(config.engineThreads, 1);
  assert.equal(problems.length, 9);
  for (const problem of problems) {
    assert.match(problem, /^Setting perplexityLens\.[\w.]+ is .+ but must be .+; using .+\.$/);
  }
  assert.ok(problems.some((p) => p.includes("perplexityLens.scoring.method") && p.includes('"sliding", "rolling"')));
});

test("the default list is not shared between parses", () => {
  const first = fromObject({}).config;
  first.modelFolders.push("/x");
  assert.deepEqual(fromObject({}).config.modelFolders, []);
});

test("changes are classified into the strongest effect they need", () => {
  const changing = (...keys: string[]) => (full: string) => keys.some((k) => full === `${CONFIG_SECTION}.${k}`);
  assert.deepEqual(classifyConfigChange(changing()).effect, "none");
  assert.equal(classifyConfigChange(changing("highlights.opacity")).effect, "redraw");
  assert.equal(classifyConfigChange(changing("highlights.opacity", "scoring.window")).effect, "rescore");
  assert.equal(classifyConfigChange(changing("model", "scoring.window")).effect, "reloadModel");
  assert.equal(classifyConfigChange(changing("engine.threads", "model")).effect, "restartEngine");
  assert.equal(classifyConfigChange(changing("liveScoring.debounceMs")).effect, "none");
  // affectsConfiguration("perplexityLens.x") is true when the whole section changes.
  const all = classifyConfigChange((full) => full.startsWith(CONFIG_SECTION));
  assert.equal(all.effect, "restartEngine");
  assert.equal(all.changed.length, Object.keys(CONFIG_KEYS).length);
});

type ManifestProperty = { default?: unknown; minimum?: number; maximum?: number; enum?: unknown[]; scope?: string };

test("the manifest declares every setting with the same default and bounds", () => {
  const root = repoRoot;
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    contributes: { configuration: { properties: Record<string, ManifestProperty> } | { properties: Record<string, ManifestProperty> }[] };
    capabilities: { untrustedWorkspaces: { supported: unknown; restrictedConfigurations: string[] } };
  };
  const sections = ([] as { properties: Record<string, ManifestProperty> }[]).concat(manifest.contributes.configuration);
  const properties = Object.assign({}, ...sections.map((s) => s.properties)) as Record<string, ManifestProperty>;
  for (const [field, key] of Object.entries(CONFIG_KEYS) as [keyof LensConfig, string][]) {
    const declared = properties[`${CONFIG_SECTION}.${key}`];
    assert.ok(declared, `${key} is declared`);
    assert.deepEqual(declared.default, CONFIG_DEFAULTS[field], `${key} default`);
    const bounds = (CONFIG_BOUNDS as Record<string, readonly [number, number]>)[field];
    if (bounds) {
      assert.equal(declared.minimum, bounds[0], `${key} minimum`);
      assert.equal(declared.maximum, bounds[1], `${key} maximum`);
    }
  }
  for (const key of RESTRICTED_KEYS) {
    assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(`${CONFIG_SECTION}.${key}`));
    assert.equal(properties[`${CONFIG_SECTION}.${key}`]?.scope, "machine-overridable");
  }
});
