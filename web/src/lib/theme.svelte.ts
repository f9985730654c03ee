const stored = localStorage.getItem('signalbox-theme')
const prefersDark = matchMedia('(prefers-color-scheme: dark)').matches

/** Light or dark, remembered; charts re-theme when it changes. */
export const theme = $state({ dark: stored ? stored === 'dark' : prefersDark })

export function applyTheme(): void {
  document.documentElement.dataset.theme = theme.dark ? 'dark' : 'light'
  localStorage.setItem('signalbox-theme', theme.dark ? 'dark' : 'light')
}
