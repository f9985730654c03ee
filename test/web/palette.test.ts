import { describe, expect, it } from 'vitest'
import { contrast, errorColor, PANEL, rgb, seriesColors } from '../../web/src/lib/palette.ts'

describe('chart colours', () => {
  it('keep at least 3:1 contrast against the panel in both themes', () => {
    for (const dark of [false, true]) {
      const panel = dark ? PANEL.dark : PANEL.light
      for (const colour of seriesColors(dark))
        expect(contrast(colour, panel), `${colour} on ${panel}`).toBeGreaterThanOrEqual(3)
    }
  })

  it('redden errors in proportion to the error ratio, so 0.5 % and 9 % look different', () => {
    const red = (ratio: number) => rgb(errorColor(ratio, false))[0] - rgb(errorColor(ratio, false))[2]
    expect(red(0.005)).toBeLessThan(red(0.05))
    expect(red(0.05)).toBeLessThan(red(0.09))
    expect(errorColor(0.1, true)).toBe(errorColor(0.5, true))
    expect(red(0.09) - red(0.005)).toBeGreaterThan(100)
  })
})
