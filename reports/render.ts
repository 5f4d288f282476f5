/**
 * Headless rendering: Vega-Lite -> Vega (vega-lite's compiler) -> SVG (a vega View with no renderer)
 * -> PNG (resvg, with the font the project ships: resvg silently drops text when it finds no font).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FONT } from './figures.js';

export const FONT_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fonts', 'DejaVuSans.ttf');

/**
 * vega-lite's warnings, less one: faceted panels with independent x scales (time to target on seconds, FLOPs and
 * crops) share field names by design, and vega-lite says so once per panel.
 */
const SHARED_FIELDS = 'Detected faceted independent scales that union domain of the same fields';
function compilerLogger(): vega.LoggerInterface {
  const base = vega.logger(vega.Warn);
  const warn = base.warn.bind(base);
  base.warn = (...args: readonly unknown[]) => (String(args[0]).startsWith(SHARED_FIELDS) ? base : warn(...args));
  return base;
}

export function toVega(spec: Record<string, unknown>): vega.Spec {
  return compile(spec as unknown as TopLevelSpec, { logger: compilerLogger() }).spec;
}

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  return vegaToSvg(toVega(spec));
}

/** SVG of an already compiled Vega spec. */
export async function vegaToSvg(spec: vega.Spec): Promise<string> {
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, scale = 2): Buffer {
  // Without the font resvg drops every text silently: refuse instead of writing a figure without labels.
  if (!fs.existsSync(FONT_FILE)) throw new Error(`${FONT_FILE} is missing (the report's font); restore reports/fonts/ from the repository`);
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { fontFiles: [FONT_FILE], loadSystemFonts: false, defaultFontFamily: FONT, sansSerifFamily: FONT },
  });
  return resvg.render().asPng();
}
