import { LabIcon } from '@jupyterlab/ui-components';

/** Three stacked nodes: the panel's sidebar icon (coloured by the theme's icon colour). */
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="3" y="3" width="7" height="7" rx="1.5"/>
    <rect x="14" y="3" width="7" height="7" rx="1.5"/>
    <rect x="8.5" y="14" width="7" height="7" rx="1.5"/>
    <path d="M6 10h1.5v2.5h9V10H18v4h-4.5v-1.5h-3V14H6z"/>
  </g>
</svg>`;

export const kfIcon = new LabIcon({ name: 'jupyter-kf:panel', svgstr: svg });
