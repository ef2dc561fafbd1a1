// Small inline SVG charts: no chart library in the bundle.
import { sparkPoints } from './shaping.js';

export function Sparkline({ values, width = 120, height = 28, max = null, label = '' }) {
  const points = sparkPoints(values, width, height - 2, max);
  const last = [...values].reverse().find((v) => v !== null && v !== undefined);
  return (
    <svg class="spark" width={width + 4} height={height} viewBox={`-2 -1 ${width + 4} ${height}`} role="img" aria-label={label}>
      <line x1="0" y1={height - 2} x2={width} y2={height - 2} stroke="#e7e0dc" />
      {points && <polyline points={points} fill="none" stroke="#b3261e" stroke-width="1.6" />}
      {last !== undefined && points && (
        <circle cx={points.split(' ').pop().split(',')[0]} cy={points.split(' ').pop().split(',')[1]} r="2.2" fill="#b3261e" />
      )}
    </svg>
  );
}
