/** Number formatting for the panel: fixed locale so numbers read the same everywhere. */
import { visibleWhitespace } from "../../src/protocol/display";

const locale = "en-US";

/** An integer with thousands separators: 1,277,952. */
export function integer(value: number): string {
  return Math.round(value).toLocaleString(locale);
}

const superscriptDigits = "⁰¹²³⁴⁵⁶⁷⁸⁹";

/** A number with `digits` significant digits; very large or small ones as 1.165 × 10⁹. */
export function significant(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value !== 0 && (Math.abs(value) >= 1e7 || Math.abs(value) < 1e-3)) {
    const [mantissa = "", exponent = "0"] = value.toExponential(digits - 1).split("e");
    const power = Number(exponent);
    const sign = power < 0 ? "⁻" : "";
    const superscript = String(Math.abs(power)).replace(/\d/g, (d) => superscriptDigits[Number(d)] ?? d);
    return `${mantissa} × 10${sign}${superscript}`;
  }
  return Number(value.toPrecision(digits)).toLocaleString(locale, { maximumFractionDigits: 6 });
}

export function fixed(value: number | null | undefined, decimals = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString(locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function percent(fraction: number | null | undefined, decimals = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "—";
  return `${(fraction * 100).toFixed(decimals)}%`;
}

/** Bytes in binary units: 1.22 MiB. */
export function bytes(value: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${integer(value)} B` : `${scaled.toFixed(scaled < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Large counts compactly: 4.3 M, 12.1 k. */
export function compact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e12) return `${(value / 1e12).toFixed(2)} T`;
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)} k`;
  return integer(value);
}

export function millis(value: number): string {
  if (!Number.isFinite(value)) return "—";
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

export function clockTime(epochMillis: number): string {
  return new Date(epochMillis).toLocaleTimeString(locale, { hour12: false });
}

/** Token text with its whitespace made visible (the editor hover's table); ∅ for an empty token. */
export function visibleToken(text: string): string {
  return text === "" ? "∅" : visibleWhitespace(text);
}
