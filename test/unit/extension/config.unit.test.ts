import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  CONFIG_BOUNDS,
  CONFIG_CHANGE_EFFECTS,
  CONFIG_DEFAULTS,
  CONFIG_KEYS,
  CONFIG_SECTION,
  RESTRICTED_KEYS,
  SETTINGS,
  SETTING_FIELDS,
  classifyConfigChange,
  parseLensConfig,
  parseLensConfigFromScopes,
  scoreOptionsFrom,
  untrustedWorkspaceSentence,
  type LensConfig,
  type SettingScopes,
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
  const changing =
    (...keys: string[]) =>
    (full: string) =>
      keys.some((k) => full === `${CONFIG_SECTION}.${k}`);
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

type ManifestProperty = {
  type?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  items?: unknown;
  scope?: string;
  markdownDescription?: string;
  description?: string;
};

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
  contributes: { configuration: { properties: Record<string, ManifestProperty> } | { properties: Record<string, ManifestProperty> }[] };
  capabilities: { untrustedWorkspaces: { supported: unknown; description: string; restrictedConfigurations: string[] } };
};
const sections = ([] as { properties: Record<string, ManifestProperty> }[]).concat(manifest.contributes.configuration);
const properties = Object.assign({}, ...sections.map((s) => s.properties)) as Record<string, ManifestProperty>;

test("the manifest declares every setting with the same default and bounds", () => {
  for (const [field, key] of Object.entries(CONFIG_KEYS) as [keyof LensConfig, string][]) {
    const declared = properties[`${CONFIG_SECTION}.${key}`];
    assert.ok(declared, `${key} is declared`);
    assert.deepEqual(declared.default, CONFIG_DEFAULTS[field], `${key} default`);
    const bounds = CONFIG_BOUNDS[field];
    if (bounds) {
      assert.equal(declared.minimum, bounds[0], `${key} minimum`);
      assert.equal(declared.maximum, bounds[1], `${key} maximum`);
    }
  }
  for (const key of RESTRICTED_KEYS) {
    assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(`${CONFIG_SECTION}.${key}`));
  }
});

test("the table equals the manifest's properties, key for key: type, default, bounds, enum, items", () => {
  const tableKeys = SETTING_FIELDS.map((field) => `${CONFIG_SECTION}.${SETTINGS[field].key}`);
  assert.deepEqual([...tableKeys].sort(), Object.keys(properties).sort(), "the same keys, none missing on either side");
  for (const field of SETTING_FIELDS) {
    const row = SETTINGS[field];
    const declared = properties[`${CONFIG_SECTION}.${row.key}`]!;
    const { type, minimum, maximum, enum: allowed, items } = row.type.manifest;
    assert.equal(declared.type, type, `${row.key} type`);
    assert.deepEqual(declared.default, row.default, `${row.key} default`);
    assert.equal(declared.minimum, minimum, `${row.key} minimum`);
    assert.equal(declared.maximum, maximum, `${row.key} maximum`);
    assert.deepEqual(declared.enum, allowed, `${row.key} enum`);
    assert.deepEqual(declared.items, items, `${row.key} items`);
    assert.deepEqual(parseLensConfig((key) => (key === row.key ? row.default : undefined)).problems, [], `${row.key}: the default passes its own parser`);
  }
});

test("restrictedConfigurations lists exactly the rows not honoured from any scope, each saying so in its description", () => {
  const notAny = SETTING_FIELDS.filter((field) => SETTINGS[field].trust !== "any").map((field) => `${CONFIG_SECTION}.${SETTINGS[field].key}`);
  const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
  assert.deepEqual([...restricted].sort(), [...notAny].sort());
  assert.equal(new Set(restricted).size, restricted.length, "no key listed twice");
  assert.deepEqual([...RESTRICTED_KEYS].map((k) => `${CONFIG_SECTION}.${k}`).sort(), [...notAny].sort());
  for (const field of SETTING_FIELDS) {
    const row = SETTINGS[field];
    const declared = properties[`${CONFIG_SECTION}.${row.key}`]!;
    const sentence = untrustedWorkspaceSentence(field);
    if (sentence === undefined) {
      assert.ok(
        !/trusted/i.test(`${declared.markdownDescription ?? ""} ${declared.description ?? ""}`),
        `${row.key} is honoured from any scope and says nothing of trust`,
      );
      continue;
    }
    assert.ok(declared.markdownDescription?.endsWith(` ${sentence}`), `${row.key}'s markdownDescription ends with "${sentence}"`);
    assert.equal(declared.description, undefined, `${row.key} has one description`);
    // Settings naming files stay machine-overridable (a remote window must not take them from the local machine).
    if (row.trust === "userOnly" && field !== "autoScoreLanguages") assert.equal(declared.scope, "machine-overridable", `${row.key} scope`);
  }
  assert.match(manifest.capabilities.untrustedWorkspaces.description, /user settings only/);
  assert.match(manifest.capabilities.untrustedWorkspaces.description, /clamped/);
});

test("the table's rows are what the rest derives from", () => {
  for (const field of SETTING_FIELDS) {
    assert.equal(CONFIG_KEYS[field], SETTINGS[field].key);
    assert.deepEqual(CONFIG_DEFAULTS[field], SETTINGS[field].default);
    assert.equal(CONFIG_CHANGE_EFFECTS[field], SETTINGS[field].effect);
  }
  assert.equal(new Set(Object.values(CONFIG_KEYS)).size, SETTING_FIELDS.length, "every key is distinct");
  assert.deepEqual([...RESTRICTED_KEYS].sort(), [
    "adapterFolders",
    "autoScoreLanguages",
    "engine.kvCacheBudgetMB",
    "engine.threads",
    "maxDocumentSize",
    "model",
    "modelFolders",
    "scoring.stride",
    "scoring.window",
  ]);
  const config = { ...CONFIG_DEFAULTS, method: "rolling", window: 128, stride: 64, topK: 3 } as LensConfig;
  assert.deepEqual(scoreOptionsFrom(config), { method: "rolling", window: 128, stride: 64, topK: 3 });
});

// ---- untrusted workspaces: what each scope's value counts for

/** Scopes per key (relative to the section), as `inspect` gives them. */
const fromScopes = (scopes: Record<string, SettingScopes>, trusted: boolean) => parseLensConfigFromScopes((key) => scopes[key], trusted);

/** Workspace values that a hostile `.vscode/settings.json` might set. */
const hostile: Record<string, SettingScopes> = {
  model: { workspaceValue: "/tmp/evil-model" },
  modelFolders: { workspaceValue: ["/tmp/evil"] },
  adapterFolders: { workspaceValue: ["/tmp/evil-adapters"] },
  autoScoreLanguages: { workspaceValue: ["typescript", "json", "plaintext"] },
  maxDocumentSize: { workspaceValue: 100_000_000 },
  "engine.kvCacheBudgetMB": { workspaceValue: 65_536 },
  "engine.threads": { workspaceValue: 64 },
  "scoring.window": { workspaceValue: 1_048_576 },
  "scoring.stride": { workspaceValue: 1 },
  "scoring.topK": { workspaceValue: 20 },
  "highlights.colorMode": { workspaceValue: "gltr" },
};

test("a trusted workspace gets its workspace values, folder values winning over workspace values over user values", () => {
  const { config, problems } = fromScopes(hostile, true);
  assert.deepEqual(problems, []);
  assert.equal(config.model, "/tmp/evil-model");
  assert.deepEqual(config.modelFolders, ["/tmp/evil"]);
  assert.deepEqual(config.adapterFolders, ["/tmp/evil-adapters"]);
  assert.deepEqual(config.autoScoreLanguages, ["typescript", "json", "plaintext"]);
  assert.equal(config.maxDocumentSize, 100_000_000);
  assert.equal(config.kvCacheBudgetMB, 65_536);
  assert.equal(config.engineThreads, 64);
  assert.equal(config.window, 1_048_576);
  assert.equal(config.stride, 1);
  assert.equal(config.topK, 20);
  const layered = fromScopes(
    {
      "engine.threads": { globalValue: 4, workspaceValue: 8, workspaceFolderValue: 16 },
      "scoring.topK": { globalValue: 7, workspaceValue: 9 },
      "highlights.opacity": { globalValue: 0.5 },
    },
    true,
  ).config;
  assert.equal(layered.engineThreads, 16);
  assert.equal(layered.topK, 9);
  assert.equal(layered.opacity, 0.5);
  assert.deepEqual(fromScopes({}, true), { config: CONFIG_DEFAULTS, problems: [] }, "nothing set: the defaults");
  assert.deepEqual(fromScopes({}, false), { config: CONFIG_DEFAULTS, problems: [] }, "nothing set, untrusted: the defaults");
});

test("untrusted: user-only keys come from user settings, and the ignored workspace value is logged", () => {
  const withUser: Record<string, SettingScopes> = {
    ...hostile,
    model: { globalValue: "lens-llama-sp", workspaceValue: "/tmp/evil-model" },
    modelFolders: { globalValue: ["/home/me/models"], workspaceFolderValue: ["/tmp/evil"] },
    autoScoreLanguages: { globalValue: ["markdown"], workspaceValue: ["typescript"] },
  };
  const { config, problems } = fromScopes(withUser, false);
  assert.equal(config.model, "lens-llama-sp");
  assert.deepEqual(config.modelFolders, ["/home/me/models"]);
  assert.deepEqual(config.adapterFolders, [], "no user value: the default, not the workspace's");
  assert.deepEqual(config.autoScoreLanguages, ["markdown"]);
  for (const key of ["model", "modelFolders", "adapterFolders", "autoScoreLanguages"]) {
    const problem = problems.filter((p) => p.startsWith(`Setting perplexityLens.${key} is `));
    assert.equal(problem.length, 1, key);
    assert.match(problem[0]!, /in the workspace settings but is read from user settings only while the workspace is not trusted; using .+\.$/);
  }
  assert.ok(
    problems.includes(
      'Setting perplexityLens.model is "/tmp/evil-model" in the workspace settings but is read from user settings only while the workspace is not trusted; using "lens-llama-sp".',
    ),
  );
  // Only the user scope: no note.
  assert.deepEqual(fromScopes({ model: { globalValue: "lens-gpt2-byte" }, autoScoreLanguages: { globalValue: ["markdown"] } }, false), {
    config: { ...CONFIG_DEFAULTS, model: "lens-gpt2-byte", autoScoreLanguages: ["markdown"] },
    problems: [],
  });
});

test("untrusted: each cost setting from the workspace is clamped to its safe range, with one sentence each", () => {
  const { config, problems } = fromScopes(hostile, false);
  assert.equal(config.maxDocumentSize, 1_000_000);
  assert.equal(config.kvCacheBudgetMB, 256);
  assert.equal(config.engineThreads, 2);
  assert.equal(config.window, 1_048_576, "a large window is clamped to the model's context by the engine");
  assert.equal(config.stride, 64);
  assert.equal(config.topK, 20, "an 'any' setting is honoured");
  assert.equal(config.colorMode, "gltr");
  const clamped = problems.filter((p) => p.includes("while the workspace is not trusted; using") && p.includes("must be"));
  assert.deepEqual(clamped.sort(), [
    "Setting perplexityLens.engine.kvCacheBudgetMB is 65536 in the workspace settings but must be at most 256 while the workspace is not trusted; using 256.",
    "Setting perplexityLens.engine.threads is 64 in the workspace settings but must be at most 2 while the workspace is not trusted; using 2.",
    "Setting perplexityLens.maxDocumentSize is 100000000 in the workspace settings but must be at most 1000000 while the workspace is not trusted; using 1000000.",
    "Setting perplexityLens.scoring.stride is 1 in the workspace settings but must be 0 or at least 64 while the workspace is not trusted; using 64.",
  ]);
  for (const problem of clamped) assert.match(problem, /^Setting perplexityLens\.[\w.]+ is .+ but must be .+; using .+\.$/);

  // The window: 0 (the model's context) and ≥ 128 are kept, 1…127 raised to 128 (a tiny window means a tiny default stride).
  const window = (value: number) => fromScopes({ "scoring.window": { workspaceValue: value } }, false);
  assert.equal(window(0).config.window, 0);
  assert.deepEqual(window(0).problems, []);
  assert.equal(window(128).config.window, 128);
  assert.equal(window(2).config.window, 128);
  assert.deepEqual(window(2).problems, [
    "Setting perplexityLens.scoring.window is 2 in the workspace settings but must be 0 or at least 128 while the workspace is not trusted; using 128.",
  ]);
  // The stride: 0 (half the window) and ≥ 64 are kept.
  const stride = (value: number) => fromScopes({ "scoring.stride": { workspaceFolderValue: value } }, false).config.stride;
  assert.deepEqual([0, 1, 63, 64, 300].map(stride), [0, 64, 64, 64, 300]);
  // Values already safe pass unchanged and silently.
  const safe = fromScopes(
    { maxDocumentSize: { workspaceValue: 5000 }, "engine.threads": { workspaceValue: 2 }, "engine.kvCacheBudgetMB": { workspaceValue: 64 } },
    false,
  );
  assert.deepEqual(safe.problems, []);
  assert.equal(safe.config.maxDocumentSize, 5000);
  assert.equal(safe.config.engineThreads, 2);
  assert.equal(safe.config.kvCacheBudgetMB, 64);
  // The user's own values are not clamped; a workspace value still replaces them, clamped.
  const user = fromScopes({ "engine.threads": { globalValue: 8 }, maxDocumentSize: { globalValue: 5_000_000 } }, false);
  assert.deepEqual(user.problems, []);
  assert.equal(user.config.engineThreads, 8);
  assert.equal(user.config.maxDocumentSize, 5_000_000);
  assert.equal(fromScopes({ "engine.threads": { globalValue: 8, workspaceValue: 16 } }, false).config.engineThreads, 2);
  // A bad workspace value still falls back to the default, with today's sentence.
  const bad = fromScopes({ "engine.threads": { workspaceValue: "many" } }, false);
  assert.equal(bad.config.engineThreads, 1);
  assert.deepEqual(bad.problems, ['Setting perplexityLens.engine.threads is "many" but must be an integer from 1 to 64; using 1.']);
});
