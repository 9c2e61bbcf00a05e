// A JobMonitor's progress line: elapsed time, step/total, steps/s and ETA. It ticks every
// second here in the browser; the kernel sends only new values (progress.py, ProgressView).
const duration = (seconds) => {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
};

function render({ model, el }) {
  const line = document.createElement("div");
  line.className = "jkf-progress";
  line.style.cssText = "opacity:0.85;padding-left:2px";
  const text = document.createElement("span");
  const track = document.createElement("div");
  track.style.cssText =
    "height:4px;width:16em;background:var(--jp-layout-color3,#ddd);border-radius:2px;margin-top:2px";
  const bar = document.createElement("div");
  bar.style.cssText = "height:4px;border-radius:2px;background:var(--jp-brand-color1,#1976d2)";
  track.appendChild(bar);
  line.append(text, track);
  el.appendChild(line);

  const draw = () => {
    const now = Date.now() / 1000;
    const [started, ended, step, total, rate, seen] = [
      "started", "ended", "step", "total", "rate", "seen_at"
    ].map((k) => model.get(k));
    const parts = [];
    if (started) parts.push(`elapsed ${duration((ended || now) - started)}`);
    if (step >= 0) parts.push(total ? `${Math.min(step + 1, total)}/${total} steps` : `step ${step}`);
    if (rate && !ended) parts.push(`${rate.toPrecision(3).replace(/\.?0+$/, "")} steps/s`);
    if (rate && total && step >= 0 && !ended) {
      parts.push(`ETA ${duration((total - 1 - step) / rate - (now - seen))}`);
    }
    text.textContent = parts.join(" · ");
    track.style.display = total && step >= 0 ? "" : "none";
    bar.style.width = total ? `${Math.min(100, ((step + 1) / total) * 100)}%` : "0";
  };
  draw();
  const timer = setInterval(draw, 1000);
  model.on("change", draw);
  return () => {
    clearInterval(timer);
    model.off("change", draw);
  };
}

export default { render };
