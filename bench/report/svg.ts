/** A small log-log line chart as SVG text (no dependencies). */

export interface Series {
  readonly name: string
  readonly color: string
  readonly dashed?: boolean | undefined
  /** [x, y] with x, y > 0. */
  readonly points: ReadonlyArray<readonly [number, number]>
}

export interface Chart {
  readonly title: string
  readonly subtitle?: string | undefined
  readonly xLabel: string
  readonly yLabel: string
  readonly series: ReadonlyArray<Series>
  /** Formats a tick value of the y axis. */
  readonly formatY: (value: number) => string
  readonly formatX: (value: number) => string
}

const WIDTH = 760
const HEIGHT = 480
const M = { left: 84, right: 200, top: 64, bottom: 64 }

const escape = (s: string): string =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("\"", "&quot;")

const decades = (min: number, max: number): Array<number> => {
  const out: Array<number> = []
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e)
  return out
}

export const render = (chart: Chart): string => {
  const all = chart.series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(y))
  const xs = decades(Math.min(...all.map(([x]) => x)), Math.max(...all.map(([x]) => x)))
  const ys = decades(Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y)))
  const [x0, x1] = [Math.log10(xs[0]!), Math.log10(xs[xs.length - 1]!)]
  const [y0, y1] = [Math.log10(ys[0]!), Math.log10(ys[ys.length - 1]!)]
  const plotW = WIDTH - M.left - M.right
  const plotH = HEIGHT - M.top - M.bottom
  const px = (x: number): number => M.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * plotW
  const py = (y: number): number => M.top + plotH - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * plotH
  const f = (n: number): string => n.toFixed(1)
  const parts: Array<string> = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${M.left}" y="28" font-size="16" font-weight="600">${escape(chart.title)}</text>`
  )
  if (chart.subtitle !== undefined) {
    parts.push(`<text x="${M.left}" y="46" fill="#555">${escape(chart.subtitle)}</text>`)
  }
  // grid: decades solid, 2..9 light
  for (let e = x0; e < x1; e++) {
    for (let k = 2; k < 10; k++) {
      const x = px(k * 10 ** e)
      parts.push(`<line x1="${f(x)}" y1="${M.top}" x2="${f(x)}" y2="${M.top + plotH}" stroke="#f0f0f0"/>`)
    }
  }
  for (let e = y0; e < y1; e++) {
    for (let k = 2; k < 10; k++) {
      const y = py(k * 10 ** e)
      parts.push(`<line x1="${M.left}" y1="${f(y)}" x2="${M.left + plotW}" y2="${f(y)}" stroke="#f0f0f0"/>`)
    }
  }
  for (const x of xs) {
    parts.push(
      `<line x1="${f(px(x))}" y1="${M.top}" x2="${f(px(x))}" y2="${M.top + plotH}" stroke="#d8d8d8"/>`,
      `<text x="${f(px(x))}" y="${M.top + plotH + 18}" text-anchor="middle">${escape(chart.formatX(x))}</text>`
    )
  }
  for (const y of ys) {
    parts.push(
      `<line x1="${M.left}" y1="${f(py(y))}" x2="${M.left + plotW}" y2="${f(py(y))}" stroke="#d8d8d8"/>`,
      `<text x="${M.left - 8}" y="${f(py(y) + 4)}" text-anchor="end">${escape(chart.formatY(y))}</text>`
    )
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${M.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">${escape(chart.xLabel)}</text>`,
    `<text transform="translate(22 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${
      escape(chart.yLabel)
    }</text>`
  )
  chart.series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(y))
    const d = pts.map(([x, y], j) => `${j === 0 ? "M" : "L"}${f(px(x))} ${f(py(y))}`).join(" ")
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${
        s.dashed === true ? ` stroke-dasharray="6 4"` : ""
      }/>`
    )
    for (const [x, y] of pts) {
      parts.push(
        `<circle cx="${f(px(x))}" cy="${f(py(y))}" r="4" fill="${s.color}"><title>${
          escape(`${s.name}: ${chart.formatX(x)} tokens, ${chart.formatY(y)}`)
        }</title></circle>`
      )
    }
    const ly = M.top + 12 + i * 22
    const lx = M.left + plotW + 16
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"${
        s.dashed === true ? ` stroke-dasharray="6 4"` : ""
      }/>`,
      `<text x="${lx + 32}" y="${ly + 4}">${escape(s.name)}</text>`
    )
  })
  parts.push("</svg>")
  return `${parts.join("\n")}\n`
}
